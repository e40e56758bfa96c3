"""Metadata on both SQLite and PostgreSQL: migrations, projects and keys, daily salts."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import inspect, select

from belvedere.accounts.keys import hash_key
from belvedere.accounts.models import ApiKey
from belvedere.accounts.plans import Plans
from belvedere.accounts.projects import create_for_operator
from belvedere.accounts.service import (
    find_project_by_api_key,
    find_project_by_write_key,
    list_projects,
)
from belvedere.config import Settings
from belvedere.ingest.salts import DailySalt, SaltRing
from belvedere.platform import migrate
from belvedere.platform.db import make_engine, make_session_factory, transaction
from belvedere.platform.errors import Invalid

DAY = 86_400


@pytest.fixture
def sessions(metadata_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(metadata_url)
    migrate.upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def test_migrations_create_every_table_and_are_idempotent(empty_metadata_url: str) -> None:
    engine = make_engine(empty_metadata_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"organisations", "projects", "api_keys", "daily_salts", "alembic_version"} <= tables
    assert {"users", "memberships", "refresh_tokens", "security_events", "outbox_emails"} <= tables
    assert {"insights", "dashboards", "dashboard_widgets"} <= tables
    assert {"annotations"} <= tables
    assert {"login_sessions", "second_factors", "recovery_codes"} <= tables
    assert {"jobs", "job_attempts", "schedules", "job_effects"} <= tables
    assert {"alert_rules", "alert_events", "alert_channels", "deliveries", "notifications"} <= tables
    assert migrate.current_revision(engine) == "0008"
    engine.dispose()


def test_the_migrations_build_exactly_the_models(empty_metadata_url: str) -> None:
    """Alembic finds nothing to add: every model change came with its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from belvedere.platform.db import Base
    from belvedere.platform.migrations import env_models  # noqa: F401  (registers every model)

    engine = make_engine(empty_metadata_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


PLANS = Plans(Settings(env="development").plans)  # the default plans


def test_project_keys_resolve_and_only_the_hash_of_the_api_key_is_stored(sessions) -> None:  # type: ignore[no-untyped-def]
    with transaction(sessions) as s:
        created, _ = create_for_operator(
            s, organisation="Acme Inc", name="Web", timezone="Europe/Paris", plans=PLANS
        )
        again, _ = create_for_operator(s, organisation="Acme Inc", name="App", plans=PLANS)
    assert created.project.organisation_id == again.project.organisation_id
    assert created.write_key.startswith("bw_") and created.api_key.startswith("bk_")
    with transaction(sessions) as s:
        assert find_project_by_write_key(s, write_key=created.write_key) == created.project
        assert find_project_by_write_key(s, write_key="bw_nope") is None
        assert find_project_by_api_key(s, api_key=created.api_key) == created.project
        assert find_project_by_api_key(s, api_key=created.write_key) is None
        stored = s.scalars(select(ApiKey)).all()
        assert {k.key_hash for k in stored} == {hash_key(created.api_key), hash_key(again.api_key)}
        assert all(created.api_key not in (k.key_hash, k.prefix) for k in stored)
        assert [p.name for p, _, _ in list_projects(s)] == ["Web", "App"]


def test_unknown_timezone_is_refused(sessions) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid, match="unknown time zone"), transaction(sessions) as s:
        create_for_operator(s, organisation="Acme", name="Web", timezone="Mars/Olympus", plans=PLANS)


def test_salts_rotate_daily_and_none_outlives_48_hours(sessions) -> None:  # type: ignore[no-untyped-def]
    now = [20_000 * DAY + 3600.0]
    ring = SaltRing(sessions, clock=lambda: now[0])
    day0, none = ring.salts()
    assert none is None and len(day0) == 32
    now[0] += 3600
    assert ring.salts() == (day0, None)

    now[0] += DAY  # next day: a new salt, yesterday's kept for visits that cross midnight
    day1, yesterday = ring.salts()
    assert yesterday == day0 and day1 != day0

    other_process = SaltRing(sessions, clock=lambda: now[0])
    assert other_process.salts() == (day1, day0)

    now[0] += DAY
    day2, yesterday = ring.salts()
    assert yesterday == day1 and day2 not in (day0, day1)
    with transaction(sessions) as s:
        kept = {row.day: row.salt for row in s.scalars(select(DailySalt))}
    assert sorted(kept) == [date(2024, 10, 5), date(2024, 10, 6)]
    assert day0 not in kept.values()
