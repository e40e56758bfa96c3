"""The person hours (``store.person_hours``) against an independent computation from the stored events and
alias links, whatever the batches: links made, moved, chained, to oneself, in the same batch as the events
they concern or long after."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st
from tests.integration.query.events_kit import event, property_settings

from belvedere.store.duckdb import DuckDBEventStore

IDS = ("a", "b", "c", "d")
NAMES = ("$pageview", "signup")
HOUR_MS = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def _when(after_ms: int) -> datetime:
    return datetime.fromtimestamp((T0 + after_ms) / 1000, UTC)


def _rows(store: DuckDBEventStore, table: str, key: str) -> dict[tuple[Any, ...], Any]:
    extra = ", first_hour, last_hour" if table == "person_hours" else ""
    found = store.execute(f"SELECT project_id, {key}, event, hours{extra} FROM {table}")
    return {(p, k, e): (sorted(hours), *rest) for p, k, e, hours, *rest in found}


def _expected(store: DuckDBEventStore) -> tuple[dict[tuple[Any, ...], Any], dict[tuple[Any, ...], Any]]:
    """(id_hours, person_hours) computed in Python from the events and the alias links as stored."""
    events = store.execute(
        "SELECT project_id, person_id, event, epoch_ms(timestamp) FROM events WHERE person_id IS NOT NULL"
    )
    links = {
        (p, a): person for p, a, person in store.execute("SELECT * EXCLUDE (created_at) FROM person_aliases")
    }
    by_id: dict[tuple[Any, ...], set[int]] = defaultdict(set)
    by_person: dict[tuple[Any, ...], set[int]] = defaultdict(set)
    for project, stored, name, at in events:
        hour = at // HOUR_MS
        person = links.get((project, stored), stored)
        for each in (name, ""):
            by_id[(project, stored, each)].add(hour)
            by_person[(project, person, each)].add(hour)
    ids = {k: (sorted(v),) for k, v in by_id.items()}
    people = {k: (sorted(v), min(v), max(v)) for k, v in by_person.items()}
    return ids, people


def _stored(store: DuckDBEventStore) -> tuple[dict[tuple[Any, ...], Any], dict[tuple[Any, ...], Any]]:
    """(id_hours, person_hours) as the store holds them, in ``_expected``'s shape."""
    return _rows(store, "id_hours", "stored_id"), _rows(store, "person_hours", "person")


def _open(folder: Path) -> DuckDBEventStore:
    store = DuckDBEventStore(folder / "events.duckdb", memory_limit="256MB", threads=1)
    store.open()
    return store


def _write(store: DuckDBEventStore, batches: list[list[dict[str, Any]]]) -> None:
    """Each batch as one ``write_batch``."""
    for position, batch in enumerate(batches, start=1):
        body = b"".join(orjson.dumps(row) + b"\n" for row in batch)
        store.write_batch(body, checkpoint=(0, position), dedupe=False)


def _alias(person: str, alias: str, hour: int, project: int = 1) -> dict[str, Any]:
    return event(
        "$alias", _when(hour * HOUR_MS), person=person, project_id=project, properties={"alias": alias}
    )


_event = st.builds(
    lambda name, who, hour, project: event(
        name, _when(hour * HOUR_MS + 1000), person=who, project_id=project
    ),
    st.sampled_from(NAMES),
    st.sampled_from(IDS),
    st.integers(0, 30),
    st.sampled_from((1, 2)),
)
_link = st.builds(
    lambda person, alias, hour: _alias(person, alias, hour),
    st.sampled_from(IDS),
    st.sampled_from(IDS),
    st.integers(0, 30),
)
_batches = st.lists(
    st.lists(st.one_of(_event, _event, _link), min_size=1, max_size=8), min_size=1, max_size=6
)


@given(batches=_batches)
@property_settings(60)
def test_person_hours_follow_the_events_and_alias_links(
    tmp_path_factory: Any, batches: list[list[dict[str, Any]]]
) -> None:
    store = _open(tmp_path_factory.mktemp("hours"))
    try:
        for batch in batches:
            _write(store, [batch])
            assert _stored(store) == _expected(store)
    finally:
        store.close()


def test_a_moved_link_takes_its_hours_to_the_new_person(tmp_path: Path) -> None:
    """The hand-written case: "a" counts as "b", then as "c"; "d" counts as "a" all along (one level)."""
    store = _open(tmp_path)
    batches = [
        [event("$pageview", _when(1000), person="a"), event("$pageview", _when(HOUR_MS), person="b")],
        [_alias("b", "a", 2), _alias("a", "d", 2), event("$pageview", _when(3 * HOUR_MS), person="d")],
        [_alias("c", "a", 4)],
    ]
    try:
        _write(store, batches)
        base = T0 // HOUR_MS
        pageviews = {
            person: (sorted(hours), first, last)
            for person, hours, first, last in store.execute(
                "SELECT person, hours, first_hour, last_hour FROM person_hours WHERE event = '$pageview'"
            )
        }
        # a's own page view (hour 0) is c's now; b keeps its own (hour 1); d's (hour 3) counts as a.
        assert pageviews == {
            "c": ([base], base, base),
            "b": ([base + 1], base + 1, base + 1),
            "a": ([base + 3], base + 3, base + 3),
        }
        assert _stored(store) == _expected(store)
    finally:
        store.close()


def test_an_older_store_gets_its_person_hours_on_open(tmp_path: Path) -> None:
    store = _open(tmp_path)
    rows = [event("$pageview", _when(h * HOUR_MS), person=IDS[h % 4]) for h in range(10)]
    rows += [_alias("a", "b", 11), event("signup", _when(12 * HOUR_MS), person="b", project_id=2)]
    store.write_batch(b"".join(orjson.dumps(r) + b"\n" for r in rows), checkpoint=(0, 1), dedupe=False)
    for statement in (  # back to version 6
        "DROP TABLE id_hours",
        "DROP TABLE person_hours",
        "DROP TABLE cohort_members",
        "DELETE FROM store_schema WHERE version >= 7",
    ):
        store.execute(statement)
    store.close()
    store = _open(tmp_path)
    try:
        assert store.execute("SELECT count(*) > 0 FROM person_hours") == [(True,)]
        assert _stored(store) == _expected(store)
    finally:
        store.close()


def test_the_writer_does_not_remember_hours_of_a_deleted_project(tmp_path: Path) -> None:
    """The writer skips the person-hours it knows it stored; after a project is deleted it knows none."""
    store = _open(tmp_path)
    body = orjson.dumps(event("$pageview", _when(1000), person="a")) + b"\n"
    try:
        store.write_batch(body, checkpoint=(0, 1), dedupe=False)
        store.delete_project(project_id=1)
        assert store.execute("SELECT count(*) FROM person_hours") == [(0,)]
        again = orjson.dumps(event("$pageview", _when(2000), person="a")) + b"\n"
        store.write_batch(again, checkpoint=(0, 2), dedupe=False)
        assert _stored(store) == _expected(store)
        assert store.execute("SELECT count(*) FROM person_hours") == [(2,)]  # $pageview and any event
    finally:
        store.close()
