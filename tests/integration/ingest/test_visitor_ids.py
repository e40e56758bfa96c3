"""Cookieless visitor ids across the daily salt rotation: a visit open at midnight keeps its id."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from belvedere.accounts.service import ProjectInfo
from belvedere.accounts.settings import ProjectSettings
from belvedere.ingest.enrich.visitor import IdentityMap, Sessionizer, VisitorStep, Visits
from belvedere.ingest.salts import SaltRing, visitor_hash
from belvedere.ingest.validate import Limits, parse_event
from belvedere.platform import migrate
from belvedere.platform.db import make_engine, make_session_factory

DAY_MS = 86_400_000
MIN_MS = 60_000
MIDNIGHT_MS = 20_000 * DAY_MS  # 2024-10-04T00:00Z
PROJECT = ProjectInfo(id=3, organisation_id=1, name="Site", timezone="UTC", settings=ProjectSettings())
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"


def _sessions(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    return make_session_factory(engine)


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000


def _event(ip: str, ts_ms: int) -> Any:
    raw = {"type": "page", "timestamp": ts_ms, "context": {"ip": ip, "user_agent": UA}}
    return parse_event(raw, project_id=PROJECT.id, now_ms=ts_ms, limits=Limits(32_768, 3_600_000))


def test_a_visit_open_at_midnight_keeps_yesterdays_id_and_new_visits_use_todays(metadata_url: str) -> None:
    clock = Clock(MIDNIGHT_MS - 10 * MIN_MS)
    salts = SaltRing(_sessions(metadata_url), clock=clock)
    step = VisitorStep(salts=salts, visits=Visits(Sessionizer(), IdentityMap()), default_timeout_minutes=30)

    def visit(ip: str) -> tuple[str, str]:
        event = _event(ip, clock.ms)
        step(event, PROJECT)
        return event.row["distinct_id"], event.row["session_id"]

    before_id, before_session = visit("203.0.113.5")  # 23:50, day 0
    yesterday_salt, _ = salts.salts()
    assert before_id == visitor_hash(yesterday_salt, PROJECT.id, "203.0.113.5", UA)

    clock.ms = MIDNIGHT_MS + 5 * MIN_MS  # 00:05, day 1: the salt has rotated
    today_salt, previous = salts.salts()
    assert previous == yesterday_salt and today_salt != yesterday_salt
    assert visit("203.0.113.5") == (before_id, before_session)  # same visit, same visitor
    newcomer, _ = visit("203.0.113.6")
    assert newcomer == visitor_hash(today_salt, PROJECT.id, "203.0.113.6", UA)

    clock.ms = MIDNIGHT_MS + 60 * MIN_MS  # the first visit has timed out: a new visit, today's id
    after_id, after_session = visit("203.0.113.5")
    assert after_id == visitor_hash(today_salt, PROJECT.id, "203.0.113.5", UA)
    assert after_id != before_id and after_session != before_session
