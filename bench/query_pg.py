"""PostgreSQL side of the query benchmark: the same rows in a plain ``events`` table, and each benchmark
question written by hand in PostgreSQL SQL.

The table has the DuckDB store's columns (``properties`` as JSONB) and the indexes Postgres-based analytics
tools use: (project_id, timestamp), (project_id, event, timestamp) and (project_id, session_id). Rows are
copied from the DuckDB store itself (CSV, one day at a time, in time order, as they would have been
appended), so both engines answer over identical data. The table is reused while its row count and the
DuckDB store it came from are unchanged.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Queue
from typing import Any

import duckdb
import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from belvedere.store.schema import COLUMN_NAMES, EVENT_COLUMNS, VISIT_DIMENSIONS

DSN = "host=127.0.0.1 port=5432 user=postgres"
DATABASE = "belvedere_bench"
_PG_TYPES = {
    "uuid": "uuid",
    "int": "bigint",
    "timestamp": "timestamp",
    "string": "text",
    "json": "jsonb",
    "float": "double precision",
}
INDEXES = (
    "CREATE INDEX events_project_ts ON events (project_id, timestamp)",
    "CREATE INDEX events_project_event_ts ON events (project_id, event, timestamp)",
    "CREATE INDEX events_project_session ON events (project_id, session_id)",
)
# Per-connection settings for the analytics queries (the server keeps its defaults otherwise).
SESSION_SETTINGS = {"work_mem": "256MB"}


@dataclass
class PgInfo:
    version: str
    rows: int
    table_bytes: int
    index_bytes: int
    load_seconds: float | None
    loaded_now: bool
    settings: dict[str, str]


def connect(database: str = DATABASE) -> psycopg.Connection[Any]:
    conn = psycopg.connect(f"{DSN} dbname={database}", autocommit=True)
    for name, value in SESSION_SETTINGS.items():
        conn.execute(f"SET {name} = '{value}'")
    return conn


def _ddl() -> str:
    cols = ",\n  ".join(
        f'"{c.name}" {_PG_TYPES[c.kind]}{"" if c.nullable else " NOT NULL"}' for c in EVENT_COLUMNS
    )
    return f"CREATE TABLE events (\n  {cols}\n)"


def ensure_pg(
    duck_path: Path, signature: str, rows: int, console: Console, *, reload: bool = False
) -> PgInfo:
    with psycopg.connect(f"{DSN} dbname=postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            admin.execute(f"CREATE DATABASE {DATABASE}")
    with connect() as conn:
        meta = None
        if conn.execute("SELECT to_regclass('bench_meta')").fetchone()[0] is not None:  # type: ignore[index]
            meta = conn.execute("SELECT signature, rows, load_seconds FROM bench_meta").fetchone()
        loaded_now = False
        load_seconds: float | None = meta[2] if meta else None
        if reload or meta is None or meta[0] != signature or meta[1] != rows:
            load_seconds = _load(conn, duck_path, signature, rows, console)
            loaded_now = True
        else:
            console.print(f"[green]Reusing[/] PostgreSQL table {DATABASE}.events ({rows:,} rows)")
        count = conn.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
        if count != rows:
            raise RuntimeError(f"PostgreSQL holds {count} rows, the DuckDB store {rows}")
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        table_bytes, index_bytes = conn.execute(
            "SELECT pg_table_size('events'), pg_indexes_size('events')"
        ).fetchone()  # type: ignore[misc]
        names = (
            "shared_buffers",
            "work_mem",
            "max_parallel_workers_per_gather",
            "jit",
            "effective_cache_size",
        )
        settings = {n: conn.execute(f"SHOW {n}").fetchone()[0] for n in names}  # type: ignore[index]
    return PgInfo(version, rows, table_bytes, index_bytes, load_seconds, loaded_now, settings)


def _load(
    conn: psycopg.Connection[Any], duck_path: Path, signature: str, rows: int, console: Console
) -> float:
    started = time.perf_counter()
    duck = duckdb.connect(str(duck_path), read_only=True, config={"threads": 1, "memory_limit": "1GB"})
    lo, hi = duck.execute("SELECT min(timestamp), max(timestamp) FROM events").fetchone()  # type: ignore[misc]
    days: list[tuple[datetime, datetime]] = []
    day = datetime.combine(lo.date(), datetime.min.time())
    while day <= hi:
        days.append((day, day + timedelta(days=1)))
        day += timedelta(days=1)
    cols = ", ".join(f'"{c}"' for c in COLUMN_NAMES)
    # The person as Belvedere's queries see it (through the alias links) is stored in person_id, as a
    # Postgres-based tool would keep it by updating a person's earlier events when an alias arrives.
    resolved = ", ".join(
        'coalesce(a.person_id, e.person_id) AS "person_id"' if c == "person_id" else f'e."{c}"'
        for c in COLUMN_NAMES
    )
    folder = Path(tempfile.mkdtemp(prefix="belvedere-pg-load-"))
    files: Queue[Path | None] = Queue(maxsize=2)
    errors: list[BaseException] = []

    def export() -> None:
        # DuckDB writes the next day's CSV while PostgreSQL ingests the previous one.
        try:
            for i, (start, end) in enumerate(days):
                path = folder / f"{i}.csv"
                duck.execute(
                    f"COPY (SELECT {resolved} FROM events AS e LEFT JOIN person_aliases AS a"
                    " ON a.project_id = e.project_id AND a.alias = e.person_id"
                    " WHERE e.timestamp >= $s AND e.timestamp < $e"
                    f" ORDER BY e.timestamp, e.project_id) TO '{path}' (HEADER false)",
                    {"s": start, "e": end},
                )
                files.put(path)
        except BaseException as exc:
            errors.append(exc)
        finally:
            files.put(None)

    thread = threading.Thread(target=export, name="pg-export")
    thread.start()
    columns = (
        TextColumn("[bold]loading PostgreSQL"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, refresh_per_second=2) as progress:
        task = progress.add_task("pg", total=len(days))
        with conn.transaction():
            conn.execute("DROP TABLE IF EXISTS events")
            conn.execute("DROP TABLE IF EXISTS bench_meta")
            conn.execute(_ddl())
            # FREEZE: the table was created in this transaction, so rows are written frozen and all-visible
            # (no hint-bit rewrite or anti-wraparound vacuum later), as a bulk load would do.
            with conn.cursor().copy(f"COPY events ({cols}) FROM STDIN WITH (FORMAT csv, FREEZE)") as copy:
                while (path := files.get()) is not None:
                    with path.open("rb") as f:
                        while chunk := f.read(1 << 20):
                            copy.write(chunk)
                    path.unlink()
                    progress.advance(task)
        thread.join()
        if errors:
            raise errors[0]
        copied = time.perf_counter() - started
        progress.console.print(f"  COPY of {rows:,} rows: {copied:,.0f} s; building indexes…")
    duck.close()
    folder.rmdir()
    conn.execute("SET maintenance_work_mem = '1GB'")
    for statement in INDEXES:
        t0 = time.perf_counter()
        conn.execute(statement)
        console.print(f"  {statement}: {time.perf_counter() - t0:,.0f} s")
    conn.execute("VACUUM ANALYZE events")
    seconds = round(time.perf_counter() - started, 1)
    conn.execute("CREATE TABLE bench_meta (signature text, rows bigint, load_seconds double precision)")
    conn.execute("INSERT INTO bench_meta VALUES (%s, %s, %s)", [signature, rows, seconds])
    console.print(f"Loaded PostgreSQL in {seconds:,.0f} s")
    return seconds


# ---------------------------------------------------------------------------------------------- queries
# Each function answers one benchmark question in PostgreSQL and returns the same "headline" dict as the
# matching function of bench/query.py extracts from the DuckDB answer. ``ctx`` carries the resolved UTC
# bounds the query layer used (same inputs, not the same code).

LOCAL = "((timestamp AT TIME ZONE 'UTC') AT TIME ZONE %(tz)s)"


@dataclass
class PgContext:
    conn: psycopg.Connection[Any]
    project: int
    tz: str
    runner: Any  # the query layer's runner for the same spec: only its resolved ranges are read

    def q(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        params.setdefault("project", self.project)
        params.setdefault("tz", self.tz)
        return self.conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


PgQuestion = Callable[[PgContext, Any], dict[str, Any]]

_STATS = """
SELECT t.visitors, t.events, t.pageviews, s.visits, s.bounces, s.duration_ms FROM
  (SELECT count(DISTINCT person_id) AS visitors, count(*) AS events,
          count(*) FILTER (WHERE event = '$pageview') AS pageviews
   FROM events WHERE project_id = %(project)s AND timestamp >= %(start)s AND timestamp < %(end)s) t,
  (SELECT count(*) AS visits, count(*) FILTER (WHERE n = 1 AND pv = 1) AS bounces,
          avg(duration_ms) AS duration_ms
   FROM (SELECT session_id, count(*) AS n, count(*) FILTER (WHERE event = '$pageview') AS pv,
                extract(epoch FROM max(timestamp) - min(timestamp)) * 1000 AS duration_ms
         FROM events
         WHERE project_id = %(project)s AND timestamp >= %(start)s AND timestamp < %(end)s
           AND session_id IS NOT NULL
         GROUP BY session_id) v) s
"""


def stats(ctx: PgContext, spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ranges = [("current", ctx.runner.range)]
    if spec.compare:
        ranges.append(("previous", ctx.runner.range.previous()))
    for name, rng in ranges:
        visitors, events, pageviews, visits, bounces, duration = ctx.q(_STATS, start=rng.start, end=rng.end)[
            0
        ]
        out[name] = {
            "visitors": visitors,
            "visits": visits,
            "pageviews": pageviews,
            "events": events,
            "bounce_rate": round(bounces * 100 / visits, 2) if visits else None,
            "visit_duration": round(float(duration) / 1000, 1) if duration is not None else None,
        }
    return out


def trends_daily(ctx: PgContext, spec: Any) -> dict[str, Any]:
    """Each series is (event, total | unique_users) per day; the same filter lets one scan serve all."""
    events = {s.event for s in spec.series}
    assert len(events) == 1 and spec.interval == "day" and spec.breakdown is None
    rng = ctx.runner.range
    rows = ctx.q(
        f"SELECT date_trunc('day', {LOCAL}) AS day, count(*), count(DISTINCT person_id) FROM events"
        " WHERE project_id = %(project)s AND event = %(event)s AND timestamp >= %(start)s"
        " AND timestamp < %(end)s GROUP BY 1",
        event=events.pop(),
        start=rng.start,
        end=rng.end,
    )
    pick = {"total": 1, "unique_users": 2}
    return {row[0].date().isoformat(): [row[pick[s.math]] for s in spec.series] for row in rows}


def trends_breakdown(ctx: PgContext, spec: Any) -> dict[str, Any]:
    (series,) = spec.series
    assert series.math == "total" and spec.interval == "day" and not spec.breakdown.startswith("properties.")
    rng = ctx.runner.range
    value = f"coalesce(\"{spec.breakdown}\", '$none')"
    where = (
        "project_id = %(project)s AND event = %(event)s AND timestamp >= %(start)s AND timestamp < %(end)s"
    )
    rows = ctx.q(
        f"WITH top AS (SELECT {value} AS v FROM events WHERE {where}"
        f'  GROUP BY 1 ORDER BY count(*) DESC, {value} COLLATE "C" LIMIT %(limit)s)'
        f" SELECT date_trunc('day', {LOCAL}) AS day,"
        f"  CASE WHEN {value} IN (SELECT v FROM top) THEN {value} ELSE '$other' END AS bv, count(*)"
        f" FROM events WHERE {where} GROUP BY 1, 2",
        event=series.event,
        start=rng.start,
        end=rng.end,
        limit=spec.breakdown_limit,
    )
    out: dict[str, dict[str, int]] = {}
    for day, bv, n in rows:
        out.setdefault(None if bv == "$none" else bv, {})[day.date().isoformat()] = n
    return out


def breakdown(ctx: PgContext, spec: Any) -> dict[str, Any]:
    """Visits as one row per session (its first person and, for visit-level dimensions, its first value by
    time — ``arg_min`` in DuckDB, an ordered ``array_agg`` here), then grouped by value."""
    rng = ctx.runner.range
    dim = spec.dimension
    where = "project_id = %(project)s AND timestamp >= %(start)s AND timestamp < %(end)s"
    visit_level = dim in VISIT_DIMENSIONS
    if not visit_level and dim != "page":
        raise NotImplementedError(dim)
    value_col = f', (array_agg("{dim}" ORDER BY timestamp))[1] AS value' if visit_level else ""
    visits = (
        "SELECT session_id, (array_agg(person_id ORDER BY timestamp))[1] AS person, count(*) AS n,"
        " count(*) FILTER (WHERE event = '$pageview') AS pv,"
        " extract(epoch FROM max(timestamp) - min(timestamp)) * 1000 AS duration_ms,"
        " max(CASE WHEN event = %(goal)s THEN 1 ELSE 0 END) AS converted"
        f"{value_col} FROM events WHERE {where} AND session_id IS NOT NULL GROUP BY session_id"
    )
    if visit_level:
        source, pageviews, value = "visits v", "sum(v.pv)", "v.value"
    else:
        source = (
            "visits v JOIN (SELECT session_id, path AS value, count(*) AS pv_value FROM events"
            f" WHERE {where} AND event = '$pageview' AND session_id IS NOT NULL GROUP BY 1, 2) x"
            " ON x.session_id = v.session_id"
        )
        pageviews, value = "sum(x.pv_value)", "x.value"
    rows = ctx.q(
        f"WITH visits AS ({visits})"
        f" SELECT {value} AS value, count(DISTINCT v.person) AS visitors, count(*) AS visits,"
        f" {pageviews} AS pageviews,"
        " round(count(*) FILTER (WHERE v.n = 1 AND v.pv = 1) * 100.0 / count(*), 2) AS bounce_rate,"
        " round(avg(v.duration_ms) / 1000.0, 1) AS visit_duration,"
        " round(count(DISTINCT v.person) FILTER (WHERE v.converted = 1) * 100.0"
        "  / count(DISTINCT v.person), 2) AS conversion_rate,"
        " count(*) OVER () AS total_values"
        f" FROM {source} GROUP BY {value}"
        f' ORDER BY {spec.sort_by} DESC, {value} COLLATE "C" NULLS FIRST LIMIT %(limit)s OFFSET %(offset)s',
        start=rng.start,
        end=rng.end,
        goal=spec.goal,
        limit=spec.limit,
        offset=spec.offset,
    )
    results = [
        [r[0], r[1], r[2], int(r[3]), float(r[4]), float(r[5]), float(r[6]) if spec.goal else None]
        for r in rows
    ]
    return {"total_values": rows[0][-1] if rows else 0, "rows": results}


def funnel(ctx: PgContext, spec: Any) -> dict[str, Any]:
    """The same one-pass algorithm as the query layer (a running max of the latest feasible start per
    step, over a window ordered by time), which PostgreSQL also supports; ordered funnels only."""
    assert spec.order == "ordered"
    rng = ctx.runner.range
    n = len(spec.steps)
    params: dict[str, Any] = {"start": rng.start, "end": rng.end, "window": timedelta(seconds=spec.window)}
    flags = []
    for i, step in enumerate(spec.steps, start=1):
        conds = [f"event = %(e{i})s"]
        params[f"e{i}"] = step.event
        for j, f in enumerate(step.filters):
            assert f.operator == "eq" and not f.property.startswith("properties.")
            conds.append(f'"{f.property}" = %(f{i}_{j})s')
            params[f"f{i}_{j}"] = str(f.value)
        flags.append(f"coalesce({' AND '.join(conds)}, false) AS s{i}")
    params["names"] = sorted({s.event for s in spec.steps})
    steps = ", ".join(f"s{i}" for i in range(1, n + 1))
    sql = (
        f"SELECT person_id AS who, timestamp AS t, {', '.join(flags)} FROM events"
        " WHERE project_id = %(project)s AND timestamp >= %(start)s AND timestamp < %(end)s"
        " AND person_id IS NOT NULL AND event = ANY(%(names)s)"
    )
    sql = f"SELECT who, t, {steps}, CASE WHEN s1 THEN t END AS st1 FROM ({sql}) e"
    frame = "PARTITION BY who ORDER BY t RANGE BETWEEN UNBOUNDED PRECEDING AND '1 millisecond' PRECEDING"
    for k in range(2, n + 1):
        keep = ", ".join(["who", "t", steps, *[f"st{i}" for i in range(1, k)]])
        sql = (
            f"SELECT {keep}, CASE WHEN s{k} AND m IS NOT NULL AND t - m <= %(window)s THEN m END AS st{k}"
            f" FROM (SELECT *, max(st{k - 1}) OVER ({frame}) AS m FROM ({sql}) c{k}) m{k}"
        )
    mins = ", ".join(f"min(extract(epoch FROM t - st{k}))::float8 AS d{k}" for k in range(1, n + 1))
    aggs = ", ".join(
        f"count(d{k}), avg(d{k}), percentile_cont(0.5) WITHIN GROUP (ORDER BY d{k})" for k in range(1, n + 1)
    )
    row = ctx.q(f"SELECT {aggs} FROM (SELECT who, {mins} FROM ({sql}) c GROUP BY who) p", **params)[0]
    out = []
    for k in range(n):
        users, avg_s, med_s = row[3 * k : 3 * k + 3]
        out.append(
            {
                "users": users,
                "avg_time_to_convert": None if not k or avg_s is None else round(avg_s, 3),
                "median_time_to_convert": None if not k or med_s is None else round(med_s, 3),
            }
        )
    return {"steps": out}


def retention(ctx: PgContext, spec: Any) -> dict[str, Any]:
    """First-time weekly retention: sizes and cells in one statement (the cohorts CTE is shared)."""
    assert spec.retention_type == "first_time" and spec.period == "week" and not spec.filters
    assert spec.revenue_property is None
    runner = ctx.runner
    start_is = "" if spec.start_event is None else " AND event = %(start_event)s"
    return_is = "" if spec.return_event is None else " AND event = %(return_event)s"
    rows = ctx.q(
        "WITH starts AS ("
        f"  SELECT who, date_trunc('week', (first_ts AT TIME ZONE 'UTC') AT TIME ZONE %(tz)s) AS cohort"
        "  FROM (SELECT person_id AS who, min(timestamp) AS first_ts FROM events"
        f"        WHERE project_id = %(project)s AND person_id IS NOT NULL{start_is} AND timestamp < %(end)s"
        "        GROUP BY person_id) f"
        "  WHERE first_ts >= %(start)s),"
        " returns AS ("
        f"  SELECT person_id AS who, date_trunc('week', {LOCAL}) AS period FROM events"
        f"  WHERE project_id = %(project)s AND person_id IS NOT NULL{return_is}"
        "    AND timestamp >= %(h_start)s AND timestamp < %(h_end)s"
        "  GROUP BY 1, 2)"
        " SELECT cohort, -1 AS k, count(*) FROM starts GROUP BY cohort"
        " UNION ALL"
        " SELECT s.cohort, (o.period::date - s.cohort::date) / 7 AS k, count(DISTINCT s.who)"
        " FROM starts s JOIN returns o ON o.who = s.who AND o.period >= s.cohort"
        " WHERE (o.period::date - s.cohort::date) / 7 <= %(periods)s GROUP BY 1, 2",
        start=runner.range.start,
        end=runner.range.end,
        h_start=runner.horizon.start,
        h_end=runner.horizon.end,
        periods=spec.periods,
        start_event=spec.start_event,
        return_event=spec.return_event,
    )
    out: dict[str, dict[int, int]] = {}
    for cohort, k, n in rows:
        out.setdefault(cohort.date().isoformat(), {})[int(k)] = n
    return {"cohorts": out}


def paths(ctx: PgContext, spec: Any) -> dict[str, Any]:
    """Page paths from each visit's first page: page views in time order, reloads folded, first
    ``depth`` steps, then the heaviest step-to-step edges and the visits of their nodes."""
    assert spec.path_type == "pages" and spec.start is None and spec.end is None and not spec.filters
    rng = ctx.runner.range
    order = 'ORDER BY timestamp, item COLLATE "C"'
    steps = (
        "WITH raw AS (SELECT session_id, timestamp, path AS item FROM events"
        "  WHERE project_id = %(project)s AND timestamp >= %(start)s AND timestamp < %(end)s"
        "  AND session_id IS NOT NULL AND event = '$pageview' AND path IS NOT NULL),"
        f" r AS (SELECT *, lag(item) OVER (PARTITION BY session_id {order}) AS prev FROM raw),"
        f" items AS (SELECT session_id, item, row_number() OVER (PARTITION BY session_id {order}) AS n"
        "  FROM r WHERE prev IS NULL OR prev <> item),"
        " steps AS (SELECT session_id, n AS step, item FROM items WHERE n <= %(depth)s)"
    )
    args = {"start": rng.start, "end": rng.end, "depth": spec.depth}
    edges = ctx.q(
        f"{steps} SELECT s.step, s.item, t.item, count(*) AS visits FROM steps s"
        " JOIN steps t ON t.session_id = s.session_id AND t.step = s.step + 1"
        ' GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, s.item COLLATE "C", t.item COLLATE "C" LIMIT %(limit)s',
        limit=spec.limit,
        **args,
    )
    nodes = {
        (s, i): n
        for s, i, n in ctx.q(f"{steps} SELECT step, item, count(*) FROM steps GROUP BY 1, 2", **args)
    }
    used = {(s, a) for s, a, _, _ in edges} | {(s + 1, b) for s, _, b, _ in edges}
    return {
        "edges": [[f"{s}_{a}", f"{s + 1}_{b}", n] for s, a, b, n in edges],
        "nodes": {f"{s}_{i}": nodes.get((s, i), 0) for s, i in used},
    }


def _activity(ctx: PgContext, spec: Any, measures: dict[str, str]) -> dict[int, dict[str, int]]:
    """Per-person active days (or weeks), their previous/next active index and first-ever activity."""
    assert spec.interval in ("day", "week") and not spec.filters
    runner = ctx.runner
    event = "" if spec.event is None else " AND event = %(event)s"
    unit = spec.interval
    div = "" if unit == "day" else " / 7"

    def index(ts: str) -> str:
        local = f"((({ts}) AT TIME ZONE 'UTC') AT TIME ZONE %(tz)s)"
        return f"((date_trunc('{unit}', {local})::date - %(origin)s::date){div})"

    counts = ", ".join(f"count(*) FILTER (WHERE {cond}) AS {name}" for name, cond in measures.items())
    rows = ctx.q(
        "WITH active AS ("
        f"  SELECT person_id AS who, {index('timestamp')} AS idx FROM events"
        f"  WHERE project_id = %(project)s AND person_id IS NOT NULL{event}"
        "    AND timestamp >= %(scan_start)s AND timestamp < %(end)s GROUP BY 1, 2),"
        " firsts AS ("
        "  SELECT person_id AS who, min(timestamp) AS first_ts FROM events"
        f"  WHERE project_id = %(project)s AND person_id IS NOT NULL{event} AND timestamp < %(end)s"
        "  GROUP BY 1),"
        " x AS ("
        "  SELECT a.idx, lag(a.idx) OVER w AS prev_idx, lead(a.idx) OVER w AS next_idx,"
        f"   {index('f.first_ts')} AS first_idx"
        "  FROM active a JOIN firsts f ON f.who = a.who WINDOW w AS (PARTITION BY a.who ORDER BY a.idx))"
        f" SELECT idx, {counts} FROM x GROUP BY idx",
        scan_start=runner.scan.start,
        end=runner.range.end,
        origin=runner.origin,
        event=spec.event,
    )
    return {int(idx): dict(zip(measures, values, strict=True)) for idx, *values in rows}


def lifecycle(ctx: PgContext, spec: Any) -> dict[str, Any]:
    counts = _activity(
        ctx,
        spec,
        {
            "new": "first_idx = idx",
            "returning": "first_idx < idx AND prev_idx = idx - 1",
            "resurrecting": "first_idx < idx AND (prev_idx IS NULL OR prev_idx < idx - 1)",
            "leaving": "next_idx IS NULL OR next_idx > idx + 1",
        },
    )
    series: dict[str, list[int]] = {s: [] for s in ("new", "returning", "resurrecting", "dormant")}
    for i in range(len(ctx.runner.labels)):
        for status in ("new", "returning", "resurrecting"):
            series[status].append(counts.get(i, {}).get(status, 0))
        leaving = counts.get(i - 1, {}).get("leaving", 0)
        series["dormant"].append(-leaving if ctx.runner.happened(i) else 0)
    return series


def usage(ctx: PgContext, spec: Any) -> dict[str, Any]:
    counts = _activity(
        ctx,
        spec,
        {
            "active": "true",
            "new": "first_idx = idx",
            "retained": "prev_idx = idx - 1",
            "leaving": "next_idx IS NULL OR next_idx > idx + 1",
        },
    )
    event = "" if spec.event is None else " AND event = %(event)s"
    total = ctx.q(
        "SELECT count(DISTINCT person_id) FROM events WHERE project_id = %(project)s"
        f" AND person_id IS NOT NULL{event} AND timestamp < %(start)s",
        start=ctx.runner.range.start,
        event=spec.event,
    )[0][0]
    periods = []
    for i in range(len(ctx.runner.labels)):
        here = counts.get(i, {})
        total += here.get("new", 0)
        periods.append(
            [
                total,
                here.get("active", 0),
                here.get("new", 0),
                here.get("retained", 0),
                counts.get(i - 1, {}).get("leaving", 0) if ctx.runner.happened(i) else 0,
            ]
        )
    return {"periods": periods}


def realtime(ctx: PgContext, spec: Any) -> dict[str, Any]:
    assert not spec.filters
    now: datetime = ctx.runner.ctx.now
    minute = now.replace(second=0, microsecond=0)
    since30 = minute - timedelta(minutes=29)
    upper = now + timedelta(minutes=1)
    window = "project_id = %(project)s AND timestamp >= %(since)s AND timestamp < %(upper)s"
    v5, v30 = ctx.q(
        "SELECT count(DISTINCT person_id) FILTER (WHERE timestamp >= %(five)s), count(DISTINCT person_id)"
        f" FROM events WHERE {window}",
        five=now - timedelta(minutes=5),
        since=now - timedelta(minutes=30),
        upper=upper,
    )[0]
    per_minute = dict(
        ctx.q(
            "SELECT floor(extract(epoch FROM timestamp - %(since)s) / 60)::int AS m, count(*)"
            f" FROM events WHERE {window} GROUP BY 1",
            since=since30,
            upper=upper,
        )
    )
    tops = {}
    for name, field, pages in (("top_pages", "path", True), ("top_sources", "referrer_domain", False)):
        tops[name] = [
            list(r)
            for r in ctx.q(
                f'SELECT "{field}" AS value, count(DISTINCT person_id) AS visitors FROM events'
                f' WHERE {window}{" AND event = %(pv)s" if pages else ""} AND "{field}" IS NOT NULL'
                f' GROUP BY 1 ORDER BY 2 DESC, "{field}" COLLATE "C" LIMIT %(top)s',
                since=now - timedelta(minutes=30),
                upper=upper,
                pv="$pageview",
                top=spec.top,
            )
        ]
    tz = ctx.runner.ctx.tz
    local_now = now.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = _to_utc(midnight, tz)
    yesterday = _to_utc(midnight - timedelta(days=1), tz)
    elapsed = now - today
    visits = "SELECT count(DISTINCT session_id) FROM events WHERE project_id = %(project)s"
    visits += " AND timestamp >= %(a)s AND timestamp < %(b)s"
    return {
        "visitors_5m": v5,
        "visitors_30m": v30,
        "events_per_minute": [per_minute.get(i, 0) for i in range(30)],
        **tops,
        "visits_today": ctx.q(visits, a=today, b=now + timedelta(microseconds=1))[0][0],
        "visits_yesterday_same_time": ctx.q(
            visits, a=yesterday, b=yesterday + elapsed + timedelta(microseconds=1)
        )[0][0],
    }


def _to_utc(local: datetime, tz: Any) -> datetime:
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC).replace(tzinfo=None)


QUESTIONS: dict[str, PgQuestion] = {
    "stats": stats,
    "trends_daily": trends_daily,
    "trends_breakdown": trends_breakdown,
    "breakdown": breakdown,
    "funnel": funnel,
    "retention": retention,
    "lifecycle": lifecycle,
    "usage": usage,
    "realtime": realtime,
    "paths": paths,
}


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, result


__all__: Sequence[str] = ("QUESTIONS", "PgContext", "connect", "ensure_pg", "timed")
