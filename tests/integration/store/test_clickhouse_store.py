"""The ClickHouse (chdb) event store: the DuckDB store's contract, and DuckDB's answers to the same SQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlglot import exp
from tests.integration.query import reference as ref
from tests.integration.query.events_kit import property_settings

from belvedere.query import QueryService, parse_query
from belvedere.query.fields import Filter, number_field, text_field
from belvedere.query.sql import Params, col, compile_query, fn, parse, parse_select
from belvedere.store.base import CompiledQuery
from belvedere.store.clickhouse import ClickHouseEventStore
from belvedere.store.duckdb import DuckDBEventStore

pytest.importorskip("chdb")

T0 = 1_741_600_800_000  # 2025-03-10T10:00:00Z


def row(n: int, *, project_id: int = 1, at: int = T0, event: str = "e", **columns: Any) -> dict[str, Any]:
    return {
        "uuid": str(uuid.UUID(int=n)),
        "project_id": project_id,
        "timestamp": at,
        "received_at": columns.pop("received_at", at),
        "event": event,
        "distinct_id": columns.pop("distinct_id", f"u{n}"),
        **columns,
    }


def ndjson(*rows: dict[str, Any]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ClickHouseEventStore]:
    s = ClickHouseEventStore(tmp_path / "events.chdb")
    s.open()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def both(tmp_path: Path) -> Iterator[tuple[DuckDBEventStore, ClickHouseEventStore]]:
    duck = DuckDBEventStore(tmp_path / "events.duckdb", memory_limit="256MB", threads=1)
    house = ClickHouseEventStore(tmp_path / "events.chdb")
    duck.open()
    house.open()
    try:
        yield duck, house
    finally:
        duck.close()
        house.close()


def test_write_batch_counts_the_rows_of_each_project(store: ClickHouseEventStore) -> None:
    assert store.checkpoint() is None
    written = store.write_batch(
        ndjson(row(1), row(2), row(3, project_id=2), row(4, _client_uuid=True)),
        checkpoint=(0, 10),
        dedupe=False,
    )
    assert written == 4
    assert store.count_events(project_id=1) == 3
    assert store.count_events(project_id=2) == 1
    assert store.count_events(project_id=3) == 0
    assert store.checkpoint() == (0, 10)


def test_dedupe_skips_stored_uuids_and_repeats_in_the_batch(store: ClickHouseEventStore) -> None:
    assert store.write_batch(ndjson(row(1), row(2)), checkpoint=(0, 1), dedupe=True) == 2
    # a retry of 1 and 2, plus 3 twice (the first received is kept)
    retry = ndjson(
        row(1),
        row(2),
        row(3, received_at=T0 + 5, distinct_id="later"),
        row(3, received_at=T0 + 1, distinct_id="first"),
    )
    assert store.write_batch(retry, checkpoint=(0, 2), dedupe=True) == 1
    assert store.count_events(project_id=1) == 3
    kept = store.execute(
        "SELECT distinct_id FROM events WHERE uuid = toUUID({u:String})", {"u": str(uuid.UUID(int=3))}
    )
    assert kept == [("first",)]
    # the same uuid in another project is another event
    assert store.write_batch(ndjson(row(1, project_id=2)), checkpoint=(0, 3), dedupe=True) == 1
    # without dedupe, nothing is checked
    assert store.write_batch(ndjson(row(1)), checkpoint=(0, 4), dedupe=False) == 1
    assert store.count_events(project_id=1) == 4


def test_dedupe_looks_within_a_day_of_the_batch(store: ClickHouseEventStore) -> None:
    day = 86_400_000
    store.write_batch(ndjson(row(1, at=T0)), checkpoint=(0, 1), dedupe=True)
    assert store.write_batch(ndjson(row(1, at=T0 + day // 2)), checkpoint=(0, 2), dedupe=True) == 0
    assert store.write_batch(ndjson(row(1, at=T0 + 3 * day)), checkpoint=(0, 3), dedupe=True) == 1


def test_watermark_moves_for_the_projects_written(store: ClickHouseEventStore) -> None:
    assert store.watermark(1) == store.watermark(2) == 0
    store.write_batch(ndjson(row(1)), checkpoint=(0, 1), dedupe=False)
    assert (store.watermark(1), store.watermark(2)) == (1, 0)
    store.write_batch(ndjson(row(2), row(3, project_id=2)), checkpoint=(0, 2), dedupe=False)
    assert (store.watermark(1), store.watermark(2)) == (2, 1)


def test_compiled_queries_only_see_their_project(store: ClickHouseEventStore) -> None:
    store.write_batch(
        ndjson(row(1, event="a"), row(2, event="b"), row(3, project_id=2, event="c")),
        checkpoint=(0, 1),
        dedupe=False,
    )
    params = Params()
    tree = parse("SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY event")
    one = store.fetch(compile_query(tree, params=params, project_id=1, dialect="clickhouse"))
    two = store.fetch(compile_query(tree, params=params, project_id=2, dialect="clickhouse"))
    assert one == [("a", 1), ("b", 1)]
    assert two == [("c", 1)]
    with pytest.raises(ValueError, match="duckdb query"):
        store.fetch(compile_query(tree, params=params, project_id=1, dialect="duckdb"))


def test_a_batch_cut_short_by_a_crash_is_replayed_once(tmp_path: Path) -> None:
    path = tmp_path / "events.chdb"
    batch = ndjson(row(2), row(3))
    store = ClickHouseEventStore(path)
    store.open()
    try:
        store.write_batch(ndjson(row(1)), checkpoint=(0, 1), dedupe=False)
        real = store._write_checkpoint
        calls: list[object] = []

        def crash_after_the_rows(committed: Any, *, pending: Any) -> None:
            calls.append(pending)
            if len(calls) == 2:  # the events are in, the checkpoint is not
                raise OSError("power cut (simulated by the test)")
            real(committed, pending=pending)

        store._write_checkpoint = crash_after_the_rows  # type: ignore[method-assign]
        with pytest.raises(OSError):
            store.write_batch(batch, checkpoint=(0, 2), dedupe=False)
    finally:
        store.close()

    reopened = ClickHouseEventStore(path)
    reopened.open()
    try:
        assert reopened.checkpoint() == (0, 1)
        assert reopened.count_events(project_id=1) == 3
        # the writer replays from (0, 1): server-made uuids, so no dedupe asked for, yet no duplicates
        assert reopened.write_batch(batch, checkpoint=(0, 2), dedupe=False) == 0
        assert reopened.count_events(project_id=1) == 3
        assert reopened.checkpoint() == (0, 2)
        # past the batch in flight, batches are written as asked again
        assert reopened.write_batch(ndjson(row(2)), checkpoint=(0, 3), dedupe=False) == 1
    finally:
        reopened.close()


def test_rows_and_checkpoint_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "events.chdb"
    store = ClickHouseEventStore(path)
    store.open()
    store.write_batch(ndjson(row(1), row(2)), checkpoint=(3, 7), dedupe=False)
    store.close()
    store.open()
    try:
        assert store.count_events(project_id=1) == 2
        assert store.checkpoint() == (3, 7)
    finally:
        store.close()


# ---------------------------------------------------------------------- the same answers as DuckDB

IDENTITY_BATCHES = [
    ndjson(
        row(1, event="$identify", distinct_id="ann", properties='{"plan":"free","seats":1,"drop":null}'),
        row(2, event="$alias", distinct_id="ann", properties='{"alias":"anon-1"}'),
        row(3, event="$pageview", distinct_id="ann", session_id="s1", channel="Direct", at=T0 + 1000),
    ),
    ndjson(
        row(
            4,
            event="$identify",
            distinct_id="ann",
            at=T0 + 5000,
            properties='{"plan":"pro","seats":null,"o":{"a":1}}',
        ),
        row(5, event="$identify", distinct_id="bob", at=T0 + 6000, properties='{"plan":"free"}'),
        row(6, event="$alias", distinct_id="bob", at=T0 + 7000, properties='{"alias":"anon-1"}'),
    ),
]


def test_identities_persons_and_aliases_match_duckdb(
    both: tuple[DuckDBEventStore, ClickHouseEventStore],
) -> None:
    answers = []
    for store in both:
        for i, batch in enumerate(IDENTITY_BATCHES):
            store.write_batch(batch, checkpoint=(0, i), dedupe=False)
        persons = store.execute(
            "SELECT project_id, distinct_id, properties, created_at, updated_at FROM persons"
        )
        answers.append(
            (
                sorted((p, d, orjson.loads(props), c, u) for p, d, props, c, u in persons),
                sorted(store.aliases(), key=lambda a: a.alias),
                store.active_sessions(since_ms=T0),
                store.recent_events(project_id=1, limit=3),
                store.recent_events(project_id=1, limit=5, event_uuid=str(uuid.UUID(int=3))),
            )
        )
    assert answers[0] == answers[1]
    persons = dict((d, props) for _, d, props, _, _ in answers[1][0])
    # a first $identify stores its traits as sent; later ones are merged in (null removes a trait)
    assert persons == {"ann": {"plan": "pro", "drop": None, "o": {"a": 1}}, "bob": {"plan": "free"}}


def _fetch_both(
    both: tuple[DuckDBEventStore, ClickHouseEventStore], build: Any
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    results = []
    for store in both:
        params = Params()
        tree = build(params)
        results.append(store.fetch(compile_query(tree, params=params, project_id=1, dialect=store.dialect)))
    return results[0], results[1]


def test_fetch_returns_the_python_types_duckdb_returns(
    both: tuple[DuckDBEventStore, ClickHouseEventStore],
) -> None:
    for i, store in enumerate(both):
        store.write_batch(
            ndjson(row(1, at=T0 + 123, revenue=2.5, browser="Firefox"), row(2, at=T0 + 90_000_000)),
            checkpoint=(0, i),
            dedupe=False,
        )
    when = datetime(2025, 3, 10, 10, 0, 0, 123000)

    def build(params: Params) -> exp.Expr:
        select = parse_select(
            "SELECT timestamp, bv_trunc_day(timestamp) AS d, bv_trunc_week(timestamp) AS w,"
            " bv_trunc_month(timestamp) AS m, bv_trunc_hour(timestamp) AS h, bv_epoch_ms(timestamp) AS ms,"
            " count(*) OVER () AS n, revenue, browser FROM events ORDER BY timestamp"
        )
        return select.select(
            params.bind("tab\there, quote' and back\\slash").as_("text"),
            exp.EQ(this=col("timestamp"), expression=params.bind(when)).as_("same"),
        )

    duck, house = _fetch_both(both, build)
    assert duck == house
    # one difference: a comparison is a boolean in DuckDB, a UInt8 (1/0) in ClickHouse
    types = [[type(v) for v in r[:-1]] for r in duck]
    assert types == [[type(v) for v in r[:-1]] for r in house]
    first = house[0]
    assert first[0] == when and first[0].tzinfo is None
    assert first[1] == datetime(2025, 3, 10) and first[3] == datetime(2025, 3, 1)
    assert first[6] == 2 and isinstance(first[6], int)
    assert first[9] == "tab\there, quote' and back\\slash"
    assert [r[-1] for r in house] == [1, 0]

    def empty_aggregates(params: Params) -> exp.Expr:
        return parse(
            "SELECT count(*), sum(revenue), avg(revenue), min(timestamp), bv_uniq_exact(distinct_id),"
            " bv_count_if(revenue > 1), bv_quantile(revenue, 0.5) FROM events WHERE event = 'nothing'"
        )

    duck, house = _fetch_both(both, empty_aggregates)
    assert duck == house == [(0, None, None, None, 0, 0, None)]

    def values(params: Params) -> exp.Expr:
        return parse(
            "SELECT [1, 2] AS l, ['a', NULL] AS s, NULL AS n, 7 / 2 AS q, revenue / 0 AS inf,"
            f" CAST({params.bind(date(2025, 1, 2)).sql()} AS DATE) AS d FROM events WHERE revenue IS NOT NULL"
        )

    duck, house = _fetch_both(both, values)
    assert duck == house == [([1, 2], ["a", None], None, 3.5, float("inf"), date(2025, 1, 2))]


PROPERTIES: list[dict[str, Any]] = [
    {"plan": "pro"},
    {"plan": 5},
    {"plan": 1.5},
    {"plan": 3.0},
    {"plan": -0.0},
    {"plan": 1e15},
    {"plan": 1e-7},
    {"plan": True},
    {"plan": False},
    {"plan": None},
    {},
    {"plan": {"a": 1}},
    {"plan": [1, "a", None]},
    {"plan": ""},
    {"plan": "5"},
    {"plan": " 7 "},
    {"plan": "1e3"},
    {"plan": "nan"},
    {"plan": "inf"},
    {"plan": "1_000"},
    {"plan": 'café "q"\n'},
    {"plan": "x'y\\z"},
    {"a.b": "dot", "a/b": "slash", "a~b": "tilde", "a": {"b": "nested"}, "~1": "escaped"},
]
KEYS = ["plan", "a.b", "a/b", "a~b", "a", "~1", "missing"]


@pytest.fixture
def with_properties(
    both: tuple[DuckDBEventStore, ClickHouseEventStore],
) -> tuple[DuckDBEventStore, ClickHouseEventStore]:
    rows = [
        row(i + 1, properties=orjson.dumps(p).decode(), browser=[None, "Firefox", "", "Fire\nfox"][i % 4])
        for i, p in enumerate(PROPERTIES)
    ]
    rows.append(row(len(rows) + 1))  # no properties at all
    for store in both:
        store.write_batch(ndjson(*rows), checkpoint=(0, 1), dedupe=False)
    return both


@pytest.mark.parametrize("key", KEYS)
def test_properties_read_as_text_and_number_alike(
    with_properties: tuple[DuckDBEventStore, ClickHouseEventStore], key: str
) -> None:
    def build(params: Params) -> exp.Expr:
        name = f"properties.{key}"
        return (
            exp.select(
                col("distinct_id"), text_field(name, params).as_("t"), number_field(name, params).as_("n")
            )
            .from_("events")
            .order_by("distinct_id")
        )

    duck, house = _fetch_both(with_properties, build)
    assert duck == house


FILTER_VALUES: list[Any] = ["pro", 5, 1.5, 3, "", "5", "Fire", "^Fire", "x'y\\z", "é", 0, True, False]
OPERATORS = ["eq", "neq", "in", "not_in", "contains", "not_contains", "regex", "is_set", "is_not_set"]


@pytest.mark.parametrize("prop", ["properties.plan", "browser", "properties.missing"])
@pytest.mark.parametrize("operator", [*OPERATORS, "gt", "gte", "lt", "lte"])
def test_filters_select_the_same_events(
    with_properties: tuple[DuckDBEventStore, ClickHouseEventStore], prop: str, operator: str
) -> None:
    if operator in ("is_set", "is_not_set"):
        values: list[Any] = [None]
    elif operator in ("gt", "gte", "lt", "lte"):
        values = [v for v in FILTER_VALUES if isinstance(v, int | float) and not isinstance(v, bool)]
    elif operator in ("in", "not_in"):
        values = [[v, "pro"] for v in FILTER_VALUES]
    else:
        values = FILTER_VALUES
    for value in values:
        condition = Filter(property=prop, operator=operator, value=value)  # type: ignore[arg-type]

        def build(params: Params, condition: Filter = condition) -> exp.Expr:
            return (
                exp.select(col("distinct_id"))
                .from_("events")
                .where(condition.condition(params))
                .order_by("distinct_id")
            )

        duck, house = _fetch_both(with_properties, build)
        assert duck == house, (prop, operator, value)


def test_logical_functions_agree(with_properties: tuple[DuckDBEventStore, ClickHouseEventStore]) -> None:
    def build(params: Params) -> exp.Expr:
        key = fn("prop_key", params.bind("/plan"), params.bind("plan"))
        return (
            exp.select(
                fn("regex_match", col("browser"), params.bind("^Fi")).as_("r"),
                fn("contains", col("browser"), params.bind("ref")).as_("c"),
                fn("prop_raw", col("properties"), key).as_("raw"),
            )
            .from_("events")
            .order_by("distinct_id")
        )

    def booleans(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return [(None if r is None else bool(r), None if c is None else bool(c), raw) for r, c, raw in rows]

    duck, house = _fetch_both(with_properties, build)
    assert booleans(duck) == booleans(house)


# ---------------------------------------------------------------------- every kind, both stores, same answer

MATHS = (
    "total",
    "unique_users",
    "unique_sessions",
    "sum",
    "avg",
    "min",
    "max",
    "median",
    "p90",
    "p95",
    "p99",
)
DIMENSIONS = (
    "page",
    "entry_page",
    "exit_page",
    "browser",
    "channel",
    "country",
    "properties.plan",
    "properties.amount",
)
EVENT_NAMES = ("$pageview", "clicked", "signed_up")


@st.composite
def kind_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A query of any kind, with the options that change its SQL."""
    kind = draw(
        st.sampled_from(
            ["stats", "trends", "breakdown", "funnel", "retention", "lifecycle", "usage", "paths", "users"]
        )
    )
    spec: dict[str, Any] = {"kind": kind, "filters": draw(st.lists(ref.filters(), max_size=2))}
    if kind == "stats":
        spec["approximate"] = draw(st.booleans())
    elif kind == "trends":
        series = []
        for _ in range(draw(st.integers(1, 3))):
            one: dict[str, Any] = {
                "event": draw(st.sampled_from([*EVENT_NAMES, None])),
                "math": draw(st.sampled_from(MATHS)),
            }
            if one["math"] not in ("total", "unique_users", "unique_sessions"):
                one["math_property"] = draw(
                    st.sampled_from(["properties.amount", "revenue", "browser_version"])
                )
            series.append(one)
        spec["series"] = series
        spec["interval"] = draw(st.sampled_from(["hour", "day", "week", "month"]))
        if draw(st.booleans()):
            spec["breakdown"] = draw(st.sampled_from(["browser", "properties.plan", "properties.amount"]))
        cumulative = all(s["math"] in ("total", "sum", "unique_users", "unique_sessions") for s in series)
        spec["cumulative"] = cumulative and draw(st.booleans())
        spec["compare"] = draw(st.booleans())
    elif kind == "breakdown":
        spec["dimension"] = draw(st.sampled_from(DIMENSIONS))
        spec["goal"] = draw(st.sampled_from([None, *EVENT_NAMES]))
        spec["sort_by"] = draw(
            st.sampled_from(["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"])
        )
    elif kind == "funnel":
        spec["steps"] = [
            {"event": e} for e in draw(st.lists(st.sampled_from(EVENT_NAMES), min_size=2, max_size=4))
        ]
        spec["order"] = draw(st.sampled_from(["ordered", "strict", "unordered"]))
        spec["window"] = draw(st.sampled_from([60, 3600, 86400 * 3]))
    elif kind == "retention":
        spec["period"] = draw(st.sampled_from(["day", "week", "month"]))
        spec["periods"] = draw(st.integers(1, 4))
        spec["retention_type"] = draw(st.sampled_from(["first_time", "recurring"]))
        spec["start_event"] = draw(st.sampled_from([None, *EVENT_NAMES]))
        spec["return_event"] = draw(st.sampled_from([None, *EVENT_NAMES]))
        spec["revenue_property"] = draw(st.sampled_from([None, "revenue", "properties.amount"]))
    elif kind in ("lifecycle", "usage"):
        spec["interval"] = draw(st.sampled_from(["day", "week"]))
        spec["event"] = draw(st.sampled_from([None, *EVENT_NAMES]))
    elif kind == "paths":
        spec["path_type"] = draw(st.sampled_from(["pages", "events"]))
        spec["depth"] = draw(st.integers(2, 5))
    return spec


@st.composite
def kind_scenarios(draw: st.DrawFn) -> tuple[str, dict[str, Any], list[ref.Ev]]:
    zone = draw(st.sampled_from(ref.ZONES))
    first, last = draw(ref.date_ranges(max_days=10))
    spec = draw(kind_specs())
    spec["date_from"], spec["date_to"] = first.isoformat(), last.isoformat()
    tz = ZoneInfo(zone)
    names = ("$pageview", "$pageview", *EVENT_NAMES[1:])
    events = draw(
        ref.events(tz, first - timedelta(days=12), last + timedelta(days=1), names=names, max_size=30)
    )
    return zone, spec, events


def _answer(service: QueryService, spec: dict[str, Any], project_id: int, zone: str) -> Any:
    try:
        result = service.run(
            parse_query(spec), project_id=project_id, timezone=zone, now=datetime(2025, 12, 1)
        )
    except Exception as exc:  # the same refusal on both is the same answer
        return (type(exc).__name__, str(exc))
    answer = result.as_dict()
    answer.pop("meta", None)
    return answer


@property_settings(60)
@given(scenario=kind_scenarios())
def test_every_kind_answers_the_same_on_both_stores(
    both: tuple[DuckDBEventStore, ClickHouseEventStore], scenario: tuple[str, dict[str, Any], list[ref.Ev]]
) -> None:
    zone, spec, events = scenario
    project_id = ref.fresh_project()
    rows = ndjson(*[e.row(project_id) for e in events])
    answers = []
    for store in both:
        if events:
            store.write_batch(rows, checkpoint=(0, project_id), dedupe=False)
        answers.append(_answer(QueryService(store), spec, project_id, zone))
    assert answers[0] == answers[1], spec


def test_a_materialized_cte_in_user_sql_stays_within_the_sandbox_memory(tmp_path: Path) -> None:
    """The store computes `AS MATERIALIZED` CTEs once (``enable_materialized_cte``): what a user's CTE holds
    counts against the query's memory bound like anything else, and the store answers on afterwards."""
    store = ClickHouseEventStore(tmp_path / "events.chdb", sandbox_memory_bytes=64 << 20)
    store.open()
    try:
        sql = (
            "WITH x AS MATERIALIZED"
            " (SELECT number, repeat(toString(number), 40) AS pad FROM numbers(5000000))"
            " SELECT a.c, b.m FROM (SELECT count() AS c, 1 AS k FROM x) AS a"
            " JOIN (SELECT max(pad) AS m, 1 AS k FROM x) AS b ON a.k = b.k"
        )
        hostile = CompiledQuery(sql=sql, params={}, dialect="clickhouse", untrusted=True)
        with pytest.raises(Exception, match="memory limit exceeded"):
            store.fetch_table(hostile)
        assert store.execute("SELECT 1") == [(1,)]
    finally:
        store.close()
