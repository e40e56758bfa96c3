"""The ``visits`` table (DuckDB: kept by the writer; ClickHouse: a view over events) always equals the
visits computed in plain Python from the events the batches carried: late events, retried duplicates, values
that arrive late or earlier than the stored ones, and a migrated old store included.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.integration.query.events_kit import open_store

from belvedere.store.duckdb import DuckDBEventStore
from belvedere.store.schema import VISIT_FIRSTS

T0 = 1_741_600_800_000  # 2025-03-10T10:00:00Z
MIN = 60_000
FIRSTS = [name for name, _ in VISIT_FIRSTS]
COLUMNS = [
    "project_id",
    "session_id",
    "started_at",
    "ended_at",
    "events",
    "pageviews",
    *(c for name in FIRSTS for c in (name, f"{name}_after")),
    "entry_page",
    "entry_after",
    "exit_page",
    "exit_after",
    "pages",
    "pathless_pageviews",
    "event_names",
    "page_seq",
    "page_views",
]
LISTS = ("pages", "event_names")


def _visits_sql(kind: str) -> str:
    """Every column, the lists sorted (they are sets); `page_views` as a map from each page."""
    sort = "arraySort" if kind == "clickhouse" else "list_sort"
    to_map = "mapFromArrays" if kind == "clickhouse" else "map_from_entries(list_zip"
    views = f"{to_map}(pages, page_views){')' if kind != 'clickhouse' else ''}"
    shown = [f"{sort}({c})" if c in LISTS else views if c == "page_views" else c for c in COLUMNS]
    return f"SELECT {', '.join(shown)} FROM visits ORDER BY project_id, session_id"


def _page_seq(value: Any) -> list[tuple[datetime, str]]:
    """(time, path) pairs, whether the engine gives structs (dicts) or tuples, times as text or datetimes."""
    pairs = [(v["t"], v["p"]) if isinstance(v, dict) else tuple(v) for v in value or []]
    return [(datetime.fromisoformat(t) if isinstance(t, str) else t, p) for t, p in pairs]


def _read_visits(store: Any, kind: str = "duckdb") -> list[tuple[Any, ...]]:
    def shown(column: str, value: Any) -> Any:
        if column == "page_seq":
            return _page_seq(value)
        if column == "page_views":
            return dict(value or {})
        return list(value or []) if column in LISTS else value

    return [
        tuple(shown(c, v) for c, v in zip(COLUMNS, row, strict=True))
        for row in store.execute(_visits_sql(kind))
    ]


def _row(
    n: int,
    session: str | None,
    at: int,
    event: str = "$pageview",
    project_id: int = 1,
    person: str | None = "v",
    **columns: Any,
) -> dict[str, Any]:
    return {
        "uuid": str(uuid.UUID(int=n)),
        "project_id": project_id,
        "timestamp": at,
        "received_at": at,
        "event": event,
        "distinct_id": person,
        "person_id": person,
        "session_id": session,
        **columns,
    }


def _ndjson(*rows: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


BATCHES = (
    (
        _row(1, "s1", T0, path="/a", channel="Direct", browser="Firefox"),
        _row(2, "s1", T0 + MIN, "clicked", country="FR"),
        _row(3, "s2", T0, person=None, path="/x"),
        _row(11, "s2", T0 + MIN),  # a page view without a path
        _row(4, None, T0, path="/none"),
        _row(8, "s3", T0, "server_side"),
    ),
    # a late event from before s1's start carrying an earlier channel (but no browser), a retry of uuid 2,
    # a repeat inside the batch, another project, s2's person and source arriving late, s3's first page
    (
        _row(5, "s1", T0 - 5 * MIN, path="/late", channel="Organic Search"),
        _row(2, "s1", T0 + MIN, "clicked", country="FR"),
        _row(6, "s2", T0 + 9 * MIN, path="/y", channel="Referral", country="DE"),
        _row(6, "s2", T0 + 9 * MIN, path="/y", channel="Referral", country="DE"),
        _row(7, "s1", T0 + 2 * MIN, project_id=2, path="/p2", os="Linux"),
        _row(9, "s3", T0 + 3 * MIN, path="/first", country="IT", browser="Chrome"),
        _row(10, "s1", T0 + 3 * MIN, path="/b", browser="Safari"),
    ),
)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def _expected_visits() -> list[tuple[Any, ...]]:
    """The visits of the distinct events (by uuid) of all batches, computed in Python."""
    events = {(r["project_id"], r["uuid"]): r for batch in BATCHES for r in batch}
    by_visit: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in events.values():
        if r["session_id"] is not None:
            by_visit.setdefault((r["project_id"], r["session_id"]), []).append(r)
    rows = []
    for (project_id, session), evs in sorted(by_visit.items()):
        evs.sort(key=lambda r: r["timestamp"])
        pages = [r for r in evs if r["event"] == "$pageview" and r.get("path") is not None]
        row: list[Any] = [project_id, session, _at(evs[0]["timestamp"]), _at(evs[-1]["timestamp"])]
        row += [len(evs), sum(r["event"] == "$pageview" for r in evs)]
        start = evs[0]["timestamp"]
        for _, source in VISIT_FIRSTS:
            carrier = next((r for r in evs if r.get(source) is not None), None)
            row += [None, None] if carrier is None else [carrier[source], carrier["timestamp"] - start]
        for page in (pages[0], pages[-1]) if pages else (None, None):
            row += [None, None] if page is None else [page["path"], page["timestamp"] - start]
        row.append(sorted({r["path"] for r in pages}))
        row.append(sum(r["event"] == "$pageview" and r.get("path") is None for r in evs))
        row.append(sorted({r["event"] for r in evs}))
        row.append(sorted((_at(r["timestamp"]), r["path"]) for r in pages))
        row.append(dict(Counter(r["path"] for r in pages)))
        rows.append(tuple(row))
    return rows


def _write(store: Any, batches: tuple[tuple[dict[str, Any], ...], ...] = BATCHES) -> None:
    for i, batch in enumerate(batches):
        store.write_batch(_ndjson(*batch), checkpoint=(0, i), dedupe=True)


@pytest.mark.parametrize("kind", ["duckdb", "clickhouse"])
def test_visits_equal_the_visits_of_the_events(kind: str, tmp_path: Path) -> None:
    store = open_store(kind, tmp_path)
    try:
        _write(store)
        visits = _read_visits(store, kind)
    finally:
        store.close()
    assert visits == _expected_visits()
    s1 = dict(zip(COLUMNS, visits[0], strict=True))
    assert (s1["session_id"], s1["events"], s1["pageviews"]) == ("s1", 4, 3)  # retry once, late one in
    assert (s1["channel"], s1["browser"], s1["country"]) == ("Organic Search", "Firefox", "FR")
    assert (s1["entry_page"], s1["exit_page"]) == ("/late", "/b")
    assert (s1["pages"], s1["event_names"]) == (["/a", "/b", "/late"], ["$pageview", "clicked"])
    # every page view with a path, in time order, the late one first
    assert [path for _, path in s1["page_seq"]] == ["/late", "/a", "/b"]
    s2 = dict(zip(COLUMNS, visits[1], strict=True))
    assert (s2["person"], s2["channel"], s2["entry_page"]) == ("v", "Referral", "/x")
    assert (s2["pages"], s2["pathless_pageviews"], s2["pageviews"]) == (["/x", "/y"], 1, 3)
    assert len(visits) == 4  # s1, s2, s3 of project 1, s1 of project 2; none for the session-less event


# How to turn a current store back into an older one: version 1 or 2 (no visits, or visits without their
# first values), version 3 (visits without their page sequences), version 4 (visits without page marks),
# version 5 (visits without their page views per page); each without version 7's person hours and version
# 8's cohort members.
_NO_HOURS = ("DROP TABLE id_hours", "DROP TABLE person_hours", "DROP TABLE cohort_members")
_UNMARKED = (
    *_NO_HOURS,
    "ALTER TABLE visits DROP COLUMN page_views",
    "ALTER TABLE visits DROP COLUMN marked_for",
    "ALTER TABLE visits DROP COLUMN pages_before",
    "DROP TABLE remark_people",
)
OLDER = {
    2: (
        *_NO_HOURS,
        "DROP TABLE visits",
        "DROP TABLE remark_people",
        "DELETE FROM store_schema WHERE version >= 2",
    ),
    3: (*_UNMARKED, "ALTER TABLE visits DROP COLUMN page_seq", "DELETE FROM store_schema WHERE version >= 4"),
    4: (*_UNMARKED, "DELETE FROM store_schema WHERE version >= 5"),
    5: (
        *_NO_HOURS,
        "ALTER TABLE visits DROP COLUMN page_views",
        "DELETE FROM store_schema WHERE version >= 6",
    ),
}


@pytest.mark.parametrize("older", sorted(OLDER))
def test_an_older_store_gets_its_visits_on_open(tmp_path: Path, older: int) -> None:
    store = open_store("duckdb", tmp_path)
    assert isinstance(store, DuckDBEventStore)
    _write(store)
    for statement in OLDER[older]:
        store.execute(statement)
    store.close()
    store = open_store("duckdb", tmp_path)
    try:
        assert _read_visits(store) == _expected_visits()
        assert store.execute("SELECT max(version) FROM store_schema") == [(8,)]
        if older == 4:  # version 5 marked the visits it found (versions 2 and 3 build them anew, unmarked)
            assert store.execute("SELECT count(*) = count(pages_before), count(*) > 0 FROM visits") == [
                (True, True)
            ]
    finally:
        store.close()


def _marks(store: DuckDBEventStore) -> dict[str, tuple[dict[str, datetime | None] | None, str | None]]:
    """Each visit's page marks ({page: mark}, None when unmarked) and whom they were computed for."""
    rows = store.execute("SELECT session_id, pages, pages_before, marked_for FROM visits")
    return {
        s: (None if before is None else dict(zip(pages, before, strict=True)), marked_for)
        for s, pages, before, marked_for in rows
    }


def test_page_marks_follow_late_visits_and_alias_links(tmp_path: Path) -> None:
    """Each page of a visit is marked with the start of the same person's previous visit with that page; a
    visit changed since, or a person whose alias links changed, is marked again on the next pass."""
    store = open_store("duckdb", tmp_path)
    assert isinstance(store, DuckDBEventStore)
    hour = 60 * MIN
    at = {n: datetime.fromtimestamp((T0 + n * hour) / 1000, UTC).replace(tzinfo=None) for n in range(6)}
    try:
        _write(
            store, ((_row(1, "a2", T0 + 2 * hour, path="/"), _row(2, "a2", T0 + 2 * hour + MIN, path="/p")),)
        )
        assert _marks(store) == {"a2": (None, None)}  # written, not marked yet
        assert store.mark_pages() == 1
        assert _marks(store) == {"a2": ({"/": None, "/p": None}, "v")}
        # An earlier visit with "/" arrives late; another id's visit with "/p" too.
        _write(
            store,
            ((_row(3, "a1", T0 + hour, path="/"), _row(4, "b1", T0, path="/p", person="w")),),
        )
        assert store.mark_pages() == 3
        assert _marks(store) == {
            "a1": ({"/": None}, "v"),
            "a2": ({"/": at[1], "/p": None}, "v"),
            "b1": ({"/p": None}, "w"),
        }
        # "w" becomes an alias of "v": its visit is now v's, earlier than a2, and a2's "/p" follows it.
        _write(
            store,
            (
                (
                    _row(
                        5,
                        None,
                        T0 + 5 * hour,
                        "$alias",
                        person="v",
                        properties=orjson.dumps({"alias": "w"}).decode(),
                    ),
                ),
            ),
        )
        assert store.execute("SELECT count(*) FROM remark_people") == [(2,)]  # w and v (no link before)
        store.mark_pages()
        assert _marks(store) == {
            "a1": ({"/": None}, "v"),
            "a2": ({"/": at[1], "/p": at[0]}, "v"),
            "b1": ({"/p": None}, "v"),
        }
        assert store.execute("SELECT count(*) FROM remark_people") == [(0,)]
        assert store.mark_pages() == 0
    finally:
        store.close()
