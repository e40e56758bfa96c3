"""Who sent the event (visitor and person) and which visit it belongs to (session).

- Visitor: the client's ``distinct_id``; without one, a keyed hash of (daily salt, project, IP, user agent)
  — or nothing at all when the project asks for no visitor id.
- Person: the identified id an anonymous id was aliased to, so a person is counted once.
- Session: a visit is the person's, and ends after the project's inactivity timeout; a client-supplied
  ``$session_id`` wins. When an alias links an anonymous id to a person, the anonymous id's open visit
  becomes the person's, so signing up does not split the visit in which it happens.
- Attribution: where a visit came from (referrer domain, channel, UTM tags) belongs to the visit. Events
  that bring no source of their own — internal navigation, server-side events — take the visit's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from belvedere.accounts.service import ProjectInfo
from belvedere.ingest.salts import SaltRing, visitor_hash
from belvedere.ingest.validate import ParsedEvent
from belvedere.platform.ids import uuid7_str
from belvedere.store.base import ActiveSession, Alias
from belvedere.store.schema import SOURCE_COLUMNS

MINUTE_MS = 60_000
SOURCE_FIELDS = SOURCE_COLUMNS
_NO_SOURCE = (None, "Direct")

Source = tuple[str | None, ...]


@dataclass(slots=True)
class Visit:
    session_id: str
    last_ms: int
    timeout_ms: int
    source: Source | None = None


class Sessionizer:
    """Open visits in memory, keyed by (project, visitor)."""

    def __init__(self) -> None:
        self._open: dict[tuple[int, str], Visit] = {}
        self.lock = threading.Lock()

    def resume(self, sessions: Iterable[ActiveSession], timeout_ms: int) -> int:
        count = 0
        for s in sessions:
            self._open[(s.project_id, s.person_id)] = Visit(
                s.session_id, s.last_seen_ms, timeout_ms, s.source
            )
            count += 1
        return count

    def is_open(self, project_id: int, visitor: str, ts_ms: int, timeout_ms: int) -> bool:
        visit = self._open.get((project_id, visitor))
        return visit is not None and abs(ts_ms - visit.last_ms) <= timeout_ms

    def assign(self, project_id: int, visitor: str, ts_ms: int, timeout_ms: int, given: str | None) -> str:
        return self.visit(project_id, visitor, ts_ms, timeout_ms, given).session_id

    def visit(self, project_id: int, visitor: str, ts_ms: int, timeout_ms: int, given: str | None) -> Visit:
        """The open visit this event belongs to, started anew when the last one timed out."""
        key = (project_id, visitor)
        visit = self._open.get(key)
        if given is not None and (visit is None or visit.session_id != given):
            last = max(ts_ms, visit.last_ms) if visit else ts_ms
            visit = self._open[key] = Visit(given, last, timeout_ms)
            return visit
        if visit is not None and (given is not None or abs(ts_ms - visit.last_ms) <= timeout_ms):
            if ts_ms > visit.last_ms:
                visit.last_ms = ts_ms
            return visit
        visit = self._open[key] = Visit(uuid7_str(ts_ms), ts_ms, timeout_ms)
        return visit

    def carry(self, project_id: int, source: str, target: str, ts_ms: int) -> None:
        """``source``'s visit, still open at ``ts_ms``, becomes ``target``'s, unless ``target`` has one."""
        visit = self._open.get((project_id, source))
        if visit is None or source == target or abs(ts_ms - visit.last_ms) > visit.timeout_ms:
            return
        if not self.is_open(project_id, target, ts_ms, visit.timeout_ms):
            self._open[(project_id, target)] = visit

    def prune(self, now_ms: int) -> int:
        """Forget visits that have timed out; returns how many remain open."""
        with self.lock:
            stale = [k for k, v in list(self._open.items()) if now_ms - v.last_ms > v.timeout_ms]
            for key in stale:
                self._open.pop(key, None)
            return len(self._open)

    def __len__(self) -> int:
        return len(self._open)


class IdentityMap:
    """(project, alias) → person id, learnt from $alias events and loaded from the store at start."""

    def __init__(self) -> None:
        self._person: dict[tuple[int, str], str] = {}

    def load(self, aliases: Iterable[Alias]) -> None:
        for alias in aliases:
            self._person[(alias.project_id, alias.alias)] = alias.person_id

    def link(self, project_id: int, alias: str, person_id: str) -> None:
        person_id = self._person.get((project_id, person_id), person_id)
        if alias != person_id:
            self._person[(project_id, alias)] = person_id

    def person(self, project_id: int, distinct_id: str) -> str:
        return self._person.get((project_id, distinct_id), distinct_id)


@dataclass(slots=True)
class VisitHints:
    """What the stateful half needs that only the request knew: the cookieless id under today's and
    yesterday's salts (never the IP itself), the client's ``$session_id``, an ``$alias`` event's alias and
    the project's visit timeout. A capture worker spools them with the row (``HINTS_KEY``)."""

    anonymous: tuple[str, str | None] | None
    given: str | None
    alias: str | None
    timeout_ms: int

    def as_list(self) -> list[Any]:
        today, yesterday = self.anonymous or (None, None)
        return [today, yesterday, self.given, self.alias, self.timeout_ms]

    @classmethod
    def from_list(cls, values: list[Any]) -> VisitHints:
        today, yesterday, given, alias, timeout_ms = values
        return cls((today, yesterday) if today is not None else None, given, alias, int(timeout_ms))


HINTS_KEY = "_visit"


class Visits:
    """The stateful half of the visitor step: which person an event is, and which of their visits it
    belongs to. It runs where every event of a project passes in order: in the capture path of a
    single-process server, or in the store owner that relays the capture workers' spools."""

    def __init__(self, sessions: Sessionizer, identities: IdentityMap) -> None:
        self.sessions = sessions
        self.identities = identities

    def apply(self, project_id: int, row: dict[str, Any], hints: VisitHints) -> None:
        with self.sessions.lock:  # the relay thread and upkeep's pruning share the open visits
            self._apply(project_id, row, hints)

    def _apply(self, project_id: int, row: dict[str, Any], hints: VisitHints) -> None:
        sessions, identities = self.sessions, self.identities
        distinct_id: str | None = row.get("distinct_id")
        if distinct_id is None and hints.anonymous is not None:
            today, yesterday = hints.anonymous
            # A visit that started before midnight keeps yesterday's id until it times out.
            keep = yesterday is not None and sessions.is_open(
                project_id, yesterday, row["timestamp"], hints.timeout_ms
            )
            distinct_id = row["distinct_id"] = yesterday if keep else today
        if distinct_id is None:
            row["person_id"] = row["session_id"] = None
            return
        person = identities.person(project_id, distinct_id)
        if hints.alias is not None:
            before = identities.person(project_id, hints.alias)
            identities.link(project_id, hints.alias, distinct_id)
            person = identities.person(project_id, distinct_id)
            sessions.carry(project_id, before, person, row["timestamp"])
        row["person_id"] = person
        visit = sessions.visit(project_id, person, row["timestamp"], hints.timeout_ms, hints.given)
        row["session_id"] = visit.session_id
        _attribute(row, visit)


class VisitorStep:
    """Computes the event's visit hints (stateless); applies them at once when given ``visits``, or leaves
    them in the row for the store owner (a capture worker, which sees only some of the traffic)."""

    name = "visitor"

    def __init__(self, *, salts: SaltRing, visits: Visits | None, default_timeout_minutes: int) -> None:
        self._salts = salts
        self._visits = visits
        self._default_timeout_ms = default_timeout_minutes * MINUTE_MS

    def __call__(self, event: ParsedEvent, project: ProjectInfo) -> str | None:
        hints = self.hints(event, project)
        if self._visits is None:
            event.row[HINTS_KEY] = hints.as_list()
        else:
            self._visits.apply(project.id, event.row, hints)
        return None

    def hints(self, event: ParsedEvent, project: ProjectInfo) -> VisitHints:
        minutes = project.settings.session_timeout_minutes
        timeout_ms = minutes * MINUTE_MS if minutes else self._default_timeout_ms
        anonymous = None
        if event.row["distinct_id"] is None and project.settings.visitor_id == "hash":
            today, yesterday = self._salts.salts()
            ip, ua = event.ip or "", event.user_agent or ""
            previous = visitor_hash(yesterday, project.id, ip, ua) if yesterday is not None else None
            anonymous = (visitor_hash(today, project.id, ip, ua), previous)
        alias = event.properties["alias"] if event.row["event"] == "$alias" else None
        given = event.properties.get("$session_id")
        given = str(given)[:100] if isinstance(given, str | int) and given != "" else None
        return VisitHints(anonymous, given, alias, timeout_ms)


def _attribute(row: dict[str, Any], visit: Visit) -> None:
    """Give the event its visit's source when it has none of its own; remember the visit's first one."""
    channel = row.get("channel")
    if channel not in _NO_SOURCE or (channel == "Direct" and visit.source is None):
        if visit.source is None or visit.source[1] == "Direct":
            visit.source = tuple(row.get(f) for f in SOURCE_FIELDS)
        return
    if visit.source is not None:
        for name, value in zip(SOURCE_FIELDS, visit.source, strict=True):
            row[name] = value
