"""Query benchmark: insight latency on 10 million realistic events, DuckDB (through ``QueryService``)
against the same questions hand-written for PostgreSQL over the same rows. A benchmark, not a test.

    .venv/bin/python bench/query.py                  # build or reuse the data, run every question once
    .venv/bin/python bench/query.py --passes 2       # DuckDB phase twice, best of the two per question
    .venv/bin/python bench/query.py --events 1000000 --no-pg   # smaller and DuckDB only

Data (built once, cached under bench/results/query-store/ and reused while the parameters match): the demo
generator's propmanager history (90 days to a fixed end) through the real ingest pipeline into project 1,
and a small aichat history into project 2; see ``bench/query_data.py``. PostgreSQL gets the same rows
(``bench/query_pg.py``).

Per question (DuckDB: 2 threads, 2 GB memory limit):
  cold      first run after (re)opening the store: DuckDB's buffer pool is empty, the OS page cache is not
  uncached  median of N runs, each through a QueryService whose cache holds nothing (QueryCache(0))
  cached    median of N runs repeated on one QueryService (after one run that fills its cache)
  pg        median of M runs of the hand-written PostgreSQL SQL; its answer is checked against DuckDB's
Results: a markdown table (stdout and bench/results/query-<timestamp>.md) and the raw figures as JSON.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psutil
import psycopg
from pydantic import ValidationError
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from belvedere.query import REGISTRY, QueryService, parse_query  # noqa: E402
from belvedere.query.cache import QueryCache  # noqa: E402
from belvedere.query.runner import QueryContext  # noqa: E402
from belvedere.store.base import CompiledQuery  # noqa: E402
from belvedere.store.duckdb import DuckDBEventStore  # noqa: E402
from bench import query_pg  # noqa: E402
from bench.calibrate import calibrate  # noqa: E402
from bench.query_data import END, MAIN_PROJECT, SECOND_PROJECT, TIMEZONE, DataSpec, ensure_store  # noqa: E402

RESULTS = ROOT / "bench" / "results"
NOW = END.replace(tzinfo=None)  # "now" for every question: the end of the generated history (naive UTC)
CACHED_TARGET_MS = 20.0
RATIO_TARGET = 10.0
MEMORY_LIMIT, THREADS = "2GB", 2


# ---------------------------------------------------------------------------------------------- questions
# Each question: the body sent to the query layer, its latency target, how to read the "headline" numbers
# out of DuckDB's answer, and the PostgreSQL function (bench/query_pg.py) that must give the same headline.

_STATS = ("visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration")


def h_stats(r: dict[str, Any]) -> dict[str, Any]:
    out = {"current": {m: r["results"][m]["value"] for m in _STATS}}
    if "previous" in r["results"]["visitors"]:
        out["previous"] = {m: r["results"][m]["previous"] for m in _STATS}
    return out


def h_trends_daily(r: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for i, label in enumerate(r["labels"]):
        values = [s["data"][i] for s in r["series"]]
        if any(values):
            out[label] = values
    return out


def h_trends_breakdown(r: dict[str, Any]) -> dict[str, Any]:
    return {
        s["breakdown_value"]: {label: v for label, v in zip(r["labels"], s["data"], strict=True) if v}
        for s in r["series"]
    }


def h_breakdown(r: dict[str, Any]) -> dict[str, Any]:
    cols = ("value", "visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "conversion_rate")
    return {"total_values": r["total_values"], "rows": [[row.get(c) for c in cols] for row in r["results"]]}


def h_funnel(r: dict[str, Any]) -> dict[str, Any]:
    keys = ("users", "avg_time_to_convert", "median_time_to_convert")
    return {"steps": [{k: s[k] for k in keys} for s in r["steps"]]}


def h_retention(r: dict[str, Any]) -> dict[str, Any]:
    cohorts = {}
    for row in r["cohorts"]:
        cells = {-1: row["size"]} if row["size"] else {}
        cells.update({k: v for k, v in enumerate(row["values"]) if k and v})
        if cells:
            cohorts[row["cohort"]] = cells
    return {"cohorts": cohorts}


def pg_retention_headline(h: dict[str, Any]) -> dict[str, Any]:
    # Column 0 of the matrix is the cohort's size, not its period-0 returns: drop PostgreSQL's k = 0.
    return {"cohorts": {c: {k: v for k, v in cells.items() if k and v} for c, cells in h["cohorts"].items()}}


def h_paths(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "edges": [[e["source"], e["target"], e["visits"]] for e in r["edges"]],
        "nodes": {n["id"]: n["visits"] for n in r["nodes"]},
    }


def h_lifecycle(r: dict[str, Any]) -> dict[str, Any]:
    return dict(r["series"])


def h_usage(r: dict[str, Any]) -> dict[str, Any]:
    keys = ("total", "active", "new", "retained", "churned")
    return {"periods": [[p[k] for k in keys] for p in r["periods"]]}


def h_realtime(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "visitors_5m": r["visitors_5m"],
        "visitors_30m": r["visitors_30m"],
        "events_per_minute": [m["events"] for m in r["events_per_minute"]],
        "top_pages": [[p["value"], p["visitors"]] for p in r["top_pages"]],
        "top_sources": [[p["value"], p["visitors"]] for p in r["top_sources"]],
        "visits_today": r["visits_today"],
        "visits_yesterday_same_time": r["visits_yesterday_same_time"],
    }


@dataclass
class Question:
    name: str
    body: dict[str, Any]
    target_ms: float | None
    headline: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    pg: str | None = None  # key of query_pg.QUESTIONS
    pg_headline: Callable[[dict[str, Any]], dict[str, Any]] = lambda h: h

    @property
    def kind(self) -> str:
        return str(self.body["kind"])


D30 = {"date_from": "-30d"}
QUESTIONS = [
    Question(
        "stats, 30 days, vs previous 30", {"kind": "stats", **D30, "compare": True}, 300, h_stats, "stats"
    ),
    Question(
        "trends: page views and unique users per day, 30 days",
        {
            "kind": "trends",
            **D30,
            "interval": "day",
            "series": [{"event": "$pageview"}, {"event": "$pageview", "math": "unique_users"}],
        },
        300,
        h_trends_daily,
        "trends_daily",
    ),
    Question(
        "trends: page views per day by channel, 30 days",
        {
            "kind": "trends",
            **D30,
            "interval": "day",
            "series": [{"event": "$pageview"}],
            "breakdown": "channel",
        },
        300,
        h_trends_breakdown,
        "trends_breakdown",
    ),
    Question(
        "breakdown: pages, goal signup_started",
        {"kind": "breakdown", **D30, "dimension": "page", "goal": "signup_started"},
        300,
        h_breakdown,
        "breakdown",
    ),
    Question(
        "breakdown: channels, goal signup_started",
        {"kind": "breakdown", **D30, "dimension": "channel", "goal": "signup_started"},
        300,
        h_breakdown,
        "breakdown",
    ),
    Question(
        "funnel: 4 steps (biens page, bien, tenant, lease), 30 days",
        {
            "kind": "funnel",
            **D30,
            "steps": [
                {"event": "$pageview", "filters": [{"property": "path", "value": "/app/biens"}]},
                {"event": "bien_created"},
                {"event": "locataire_added"},
                {"event": "contract_signed"},
            ],
        },
        500,
        h_funnel,
        "funnel",
    ),
    Question(
        "retention: 12 weekly cohorts, first-time, any event",
        {"kind": "retention", "date_from": "-12w", "period": "week", "periods": 12},
        500,
        h_retention,
        "retention",
        pg_retention_headline,
    ),
    Question(
        "paths: pages from each visit's first, 5 steps, 30 days",
        {"kind": "paths", **D30, "path_type": "pages", "depth": 5, "limit": 50},
        1000,
        h_paths,
        "paths",
    ),
    Question(
        "lifecycle: daily, 30 days",
        {"kind": "lifecycle", **D30, "interval": "day"},
        None,
        h_lifecycle,
        "lifecycle",
    ),
    Question("usage: daily, 30 days", {"kind": "usage", **D30, "interval": "day"}, None, h_usage, "usage"),
    Question("realtime: last 30 minutes, today", {"kind": "realtime"}, None, h_realtime, "realtime"),
]


# ---------------------------------------------------------------------------------------------- comparing


def _number(v: Any) -> Any:
    return float(v) if isinstance(v, Decimal) else v


def differences(duck: Any, pg: Any, path: str = "") -> list[str]:
    """Where two headlines differ; floats within 0.1 (both sides round rates to 0.01 and durations to 0.1)."""
    duck, pg = _number(duck), _number(pg)
    if isinstance(duck, dict) and isinstance(pg, dict):
        out = []
        for key in sorted(set(duck) | set(pg), key=str):
            out += differences(duck.get(key), pg.get(key), f"{path}.{key}")
        return out
    if isinstance(duck, list | tuple) and isinstance(pg, list | tuple):
        if len(duck) != len(pg):
            return [f"{path}: {len(duck)} items in DuckDB, {len(pg)} in PostgreSQL"]
        return [
            d
            for i, (a, b) in enumerate(zip(duck, pg, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    if isinstance(duck, float) or isinstance(pg, float):
        if (
            duck is not None
            and pg is not None
            and abs(float(duck) - float(pg)) <= 0.1 + 1e-6 * abs(float(duck))
        ):
            return []
    elif duck == pg:
        return []
    return [f"{path}: DuckDB {duck!r}, PostgreSQL {pg!r}"]


# ---------------------------------------------------------------------------------------------- measuring


@dataclass
class Measure:
    question: Question
    skipped: str | None = None
    cold_ms: float | None = None
    uncached_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    cached_ms: list[float] = field(default_factory=list)
    cacheable: bool = True
    pg_ms: list[float] = field(default_factory=list)
    pg_error: str | None = None
    mismatches: list[str] | None = None
    statements: list[CompiledQuery] = field(default_factory=list)

    @property
    def uncached(self) -> float | None:
        return statistics.median(self.uncached_ms) if self.uncached_ms else None

    @property
    def cached(self) -> float | None:
        return statistics.median(self.cached_ms) if self.cached_ms and self.cacheable else None

    @property
    def pg(self) -> float | None:
        return statistics.median(self.pg_ms) if self.pg_ms else None


class Bench:
    def __init__(self, path: Path, console: Console) -> None:
        self.path = path
        self.console = console
        self.store = self._open()
        # A store built before page marks existed is migrated when opened; anything left unmarked is marked
        # here, as the server's writer would have done.
        self.store.mark_pages()

    def _open(self) -> DuckDBEventStore:
        store = DuckDBEventStore(self.path, memory_limit=MEMORY_LIMIT, threads=THREADS)
        store.open()
        return store

    def reopen(self) -> None:
        """A fresh DuckDB instance: its buffer pool starts empty (the OS page cache does not)."""
        self.store.close()
        gc.collect()
        self.store = self._open()

    def run(self, spec: Any, svc: QueryService, project: int = MAIN_PROJECT) -> tuple[float, dict[str, Any]]:
        t0 = time.perf_counter()
        result = svc.run(spec, project_id=project, timezone=TIMEZONE, now=NOW)
        return (time.perf_counter() - t0) * 1000, result.as_dict()

    def capture(self, spec: Any, project: int = MAIN_PROJECT) -> list[CompiledQuery]:
        """The statements one run sends to the store (for EXPLAIN ANALYZE and the scoping check)."""
        seen: list[CompiledQuery] = []
        fetch = self.store.fetch

        def spy(query: CompiledQuery) -> list[tuple[Any, ...]]:
            seen.append(query)
            return fetch(query)

        self.store.fetch = spy  # type: ignore[method-assign]
        try:
            self.run(spec, QueryService(self.store, QueryCache(0)), project)
        finally:
            del self.store.fetch
        return seen

    def measure(self, q: Question, runs: int, pg: psycopg.Connection[Any] | None, pg_runs: int) -> Measure:
        m = Measure(q)
        if q.kind not in REGISTRY:
            m.skipped = f"kind {q.kind!r} is not in the registry yet"
            return m
        try:
            spec = parse_query(q.body)
        except ValidationError as exc:
            m.skipped = f"the spec rejects the benchmark's body: {exc.errors()[0]['msg']}"
            return m
        m.cacheable = REGISTRY[q.kind].cacheable
        self.reopen()
        m.cold_ms, _ = self.run(spec, QueryService(self.store, QueryCache(0)))
        result: dict[str, Any] = {}
        for _ in range(runs):
            ms, result = self.run(spec, QueryService(self.store, QueryCache(0)))
            m.uncached_ms.append(ms)
            m.sql_ms.append(result["meta"]["sql_ms"])
        svc = QueryService(self.store)
        self.run(spec, svc)
        for _ in range(runs):
            ms, cached = self.run(spec, svc)
            m.cached_ms.append(ms)
            if m.cacheable and not cached["meta"]["cached"]:
                raise RuntimeError(f"{q.name}: a repeated run was not served from the cache")
        m.statements = self.capture(spec)
        if pg is not None and q.pg is not None and q.headline is not None:
            runner = REGISTRY[q.kind](spec, QueryContext(MAIN_PROJECT, TIMEZONE, self.store, now=NOW))
            ctx = query_pg.PgContext(pg, MAIN_PROJECT, TIMEZONE, runner)
            try:
                m.pg_ms, answer = query_pg.timed(lambda: query_pg.QUESTIONS[q.pg](ctx, spec), pg_runs)  # type: ignore[index]
                m.mismatches = differences(q.headline(result), q.pg_headline(answer))
            except (AttributeError, AssertionError, NotImplementedError, psycopg.Error) as exc:
                m.pg_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        return m

    def scoping(self, runs: int) -> dict[str, Any]:
        """Does scoping to one project cost anything? (a) the small project answers in proportion to its own
        size; (b) the big project's stats SQL with its project filter replaced by TRUE (it then reads both
        projects) is no faster than with it."""
        spec = parse_query(QUESTIONS[0].body)
        out: dict[str, Any] = {}
        for project in (MAIN_PROJECT, SECOND_PROJECT):
            times = [self.run(spec, QueryService(self.store, QueryCache(0)), project)[0] for _ in range(runs)]
            out[f"stats_project_{project}_ms"] = statistics.median(times)
        statements = self.capture(spec)
        for label, unscoped in (("scoped", False), ("unscoped", True)):
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                for s in statements:
                    sql = s.sql.replace("project_id = $project", "TRUE") if unscoped else s.sql
                    params = {k: v for k, v in s.params.items() if k != "project" or not unscoped}
                    self.store.execute(sql, params)
                times.append((time.perf_counter() - t0) * 1000)
            out[f"stats_sql_{label}_ms"] = statistics.median(times)
        return out

    def explain(self, m: Measure) -> str:
        """EXPLAIN ANALYZE of each statement the question sends: the operators that took the most time
        (summed over DuckDB's threads), heaviest first."""
        parts = []
        for s in m.statements:
            t0 = time.perf_counter()
            self.store.execute(s.sql, s.params)
            wall = (time.perf_counter() - t0) * 1000
            (row,) = self.store.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + s.sql, s.params)
            ops = sorted(_operators(json.loads(row[-1])), key=lambda o: -o[0])
            total = sum(o[0] for o in ops) or 1
            lines = [
                f"-- {s.sql}",
                f"-- params {s.params}",
                f"wall {wall:,.0f} ms; operators {total:,.0f} ms",
            ]
            lines += [
                f"{ms:9,.0f} ms {ms / total:4.0%}  {kind:<16} {rows:>12,} rows  {info}"
                for ms, kind, rows, info in ops[:8]
            ]
            parts.append("\n".join(lines))
        return "\n\n".join(parts)


def _operators(node: dict[str, Any]) -> list[tuple[float, str, int, str]]:
    out = []
    if "type" in node:
        info = node.get("extra_info") or {}
        keys = ("Table", "Projections", "Filters", "Groups", "Aggregates", "Conditions", "CTE Name")
        detail = json.dumps({k: info[k] for k in keys if k in info})
        out.append(
            (node.get("timing", 0.0) * 1000, node["type"], node.get("intermediate_rows") or 0, detail[:240])
        )
    for child in node.get("children", []) + node.get("operator", []):
        out += _operators(child)
    return out


# ---------------------------------------------------------------------------------------------- reporting


def fmt(ms: float | None) -> str:
    if ms is None:
        return "—"
    if ms < 1:
        return f"{ms:.2f}"
    return f"{ms:.1f}" if ms < 10 else f"{ms:,.0f}"


def verdict(m: Measure) -> str:
    q = m.question
    if m.skipped:
        return "skipped"
    checks = []
    if q.target_ms is not None and m.uncached is not None:
        checks.append(m.uncached <= q.target_ms)
    if m.cached is not None:
        checks.append(m.cached <= CACHED_TARGET_MS)
    # Issue #3 ends its list of latency targets with a ratio of at least 10 to PostgreSQL "on each": on each
    # question it gives a target for. The others' ratios (lifecycle, usage, realtime): reported, not judged.
    if q.target_ms is not None and m.pg is not None and m.uncached:
        checks.append(m.pg / m.uncached >= RATIO_TARGET)
    if not checks:
        return "no target"
    return "met" if all(checks) else "**not met**"


def table(measures: list[Measure]) -> str:
    head = (
        "| Question | Target (uncached) | DuckDB cold | DuckDB uncached | DuckDB cached | PostgreSQL "
        "| PG ÷ DuckDB | Same answer | Targets |\n|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for m in measures:
        q = m.question
        if m.skipped:
            lines.append(f"| {q.name} (`{q.kind}`) | {fmt(q.target_ms)} | skipped: {m.skipped} ||||||| ")
            continue
        ratio = f"{m.pg / m.uncached:,.1f}x" if m.pg and m.uncached else "—"
        if m.pg_error:
            same = f"PG failed: {m.pg_error}"
        elif m.mismatches is None:
            same = "—"
        else:
            same = "yes" if not m.mismatches else f"**NO ({len(m.mismatches)} differences)**"
        cached = fmt(m.cached) if m.cacheable else "not cached"
        lines.append(
            f"| {q.name} (`{q.kind}`) | {fmt(q.target_ms)} | {fmt(m.cold_ms)} | {fmt(m.uncached)} "
            f"| {cached} | {fmt(m.pg)} | {ratio} | {same} | {verdict(m)} |"
        )
    return "\n".join(lines)


def machine_facts(store_path: Path, info: Any, pg_info: query_pg.PgInfo | None) -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    query_files = sorted((ROOT / "src" / "belvedere" / "query").rglob("*.py"))
    digest = hashlib.sha1(b"".join(f.read_bytes() for f in query_files)).hexdigest()[:12]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        # The machine's speed at the start of this run (bench/calibrate.py): compare runs by it first.
        "calibration": calibrate(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "postgresql": pg_info.version if pg_info else None,
        "psycopg": psycopg.__version__,
        # The query layer is being written while this runs: which version of it was measured.
        "query_layer_sha1": digest,
        "query_layer_modified": datetime.fromtimestamp(
            max(f.stat().st_mtime for f in query_files), UTC
        ).isoformat(timespec="seconds"),
        "events": info.stored,
        "events_total": info.total,
        "duckdb_file_mib": round(store_path.stat().st_size / 2**20, 1),
        "duckdb_settings": {"memory_limit": MEMORY_LIMIT, "threads": THREADS},
        "store_build_seconds": info.build_seconds,
        "pg_table_mib": round(pg_info.table_bytes / 2**20, 1) if pg_info else None,
        "pg_index_mib": round(pg_info.index_bytes / 2**20, 1) if pg_info else None,
        "pg_load_seconds": pg_info.load_seconds if pg_info else None,
        "pg_settings": pg_info.settings if pg_info else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the main project")
    parser.add_argument("--second-events", type=int, default=200_000, help="events in the second project")
    parser.add_argument("--runs", type=int, default=5, help="DuckDB runs per question (median)")
    parser.add_argument("--pg-runs", type=int, default=3, help="PostgreSQL runs per question (median)")
    parser.add_argument(
        "--passes",
        type=int,
        default=1,
        help="query phases (PostgreSQL in the first only); each question keeps its best",
    )
    parser.add_argument("--no-pg", action="store_true", help="DuckDB only")
    parser.add_argument("--only", nargs="*", help="only these kinds")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the DuckDB store (and PostgreSQL)")
    parser.add_argument("--workers", type=int, default=2, help="processes enriching events when building")
    parser.add_argument("--data", type=Path, default=RESULTS / "query-store", help="where the store lives")
    args = parser.parse_args()

    console = Console(highlight=False)
    args.data.mkdir(parents=True, exist_ok=True)
    spec = DataSpec(events=args.events, second_events=args.second_events)
    info = ensure_store(args.data, spec, console, rebuild=args.rebuild, workers=args.workers)
    pg_info = None
    if not args.no_pg:
        meta = json.loads((args.data / "meta.json").read_text())
        signature = json.dumps([meta["spec"], meta["built_at"], "person_id through person_aliases"])
        pg_info = query_pg.ensure_pg(info.path, signature, info.total, console, reload=args.rebuild)
    facts = machine_facts(info.path, info, pg_info)
    questions = [q for q in QUESTIONS if not args.only or q.kind in args.only]
    absent = sorted(set(REGISTRY) - {q.kind for q in QUESTIONS})
    if absent:
        console.print(f"[yellow]Kinds in the registry without a benchmark question:[/] {', '.join(absent)}")

    bench = Bench(info.path, console)
    pg = query_pg.connect() if pg_info else None
    passes: list[dict[str, Any]] = []
    for number in range(1, args.passes + 1):
        console.print(f"[bold]Query phase {number}/{args.passes}[/]")
        load_before = os.getloadavg()
        psutil.cpu_percent(None)
        own = psutil.Process()
        own_before = own.cpu_times()
        started = time.perf_counter()
        measures = []
        for q in questions:
            # PostgreSQL takes minutes per phase and is not what the repeat is for: first phase only.
            m = bench.measure(q, args.runs, pg if number == 1 else None, args.pg_runs)
            measures.append(m)
            if m.skipped:
                console.print(f"  [yellow]skipped[/] {q.name}: {m.skipped}")
                continue
            console.print(
                f"  {q.name}: cold {fmt(m.cold_ms)}, uncached {fmt(m.uncached)}, cached {fmt(m.cached)}, "
                f"PG {fmt(m.pg)} ms"
            )
            if m.pg_error:
                console.print(f"  [bold red]PostgreSQL failed:[/] {m.pg_error}")
            if m.mismatches:
                console.print(f"  [bold red]MISMATCH with PostgreSQL[/] ({len(m.mismatches)}):")
                for line in m.mismatches[:10]:
                    console.print(f"    [red]{line}[/]")
        wall = time.perf_counter() - started
        own_after = own.cpu_times()
        busy = psutil.cpu_percent(None)
        scoping = bench.scoping(args.runs)
        passes.append(
            {
                "measures": measures,
                "scoping": scoping,
                "load_before": load_before,
                "machine_cpu_busy_pct": busy,
                "own_cpu_pct": round(
                    (own_after.user + own_after.system - own_before.user - own_before.system)
                    / wall
                    / (os.cpu_count() or 1)
                    * 100,
                    1,
                ),
                "wall_s": round(wall, 1),
            }
        )

    # Each question keeps the phase where its uncached median was lowest (the machine is shared, so a phase
    # can be slowed by others' work); PostgreSQL figures and the answer check come from the first phase.
    measures = []
    for i, first in enumerate(passes[0]["measures"]):
        tried = [p["measures"][i] for p in passes]
        best = min(tried, key=lambda m: m.uncached if m.uncached is not None else float("inf"))
        measures.append(
            replace(best, pg_ms=first.pg_ms, pg_error=first.pg_error, mismatches=first.mismatches)
        )
    # Taken again at the end: a VM can change speed during a run, and the two readings show whether it did.
    facts["calibration_end"] = calibrate()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    md = [f"# Query benchmark, {stamp} UTC\n", table(measures), ""]
    md.append(
        f"Times in ms, wall clock around `QueryService.run` in-process. Uncached and cached: median of "
        f"{args.runs} runs; PostgreSQL: median of {args.pg_runs}. Targets: the uncached target shown; cached "
        f"≤ {CACHED_TARGET_MS:.0f} ms; PostgreSQL ≥ {RATIO_TARGET:.0f} times slower on each question with "
        "an uncached target (issue #3's list); the other ratios are reported, not judged."
    )
    if len(passes) > 1:
        md.append(
            f"\n{len(passes)} query phases were run (PostgreSQL in the first only); each DuckDB row is from "
            "the phase where that question's uncached median was lowest. Uncached medians by phase: "
            + "; ".join(
                f"{m.question.kind} " + " / ".join(fmt(p["measures"][i].uncached) for p in passes)
                for i, m in enumerate(measures)
                if not m.skipped
            )
            + "."
        )
    yardstick = facts["calibration"]["duckdb_ms"]
    md.append(
        f"\nUncached time ÷ the yardstick `duckdb_ms` ({yardstick:.1f} at the start; compare runs on "
        "different machines by these): "
        + "; ".join(
            f"{m.question.kind} {m.uncached / yardstick:.2f}"
            for m in measures
            if not m.skipped and m.uncached is not None
        )
        + "."
    )
    s = {k: min(p["scoping"][k] for p in passes) for k in passes[0]["scoping"]}
    md.append(
        "\nScoping (best of the phases): stats (30 days vs previous) for project 1 "
        f"({info.stored[MAIN_PROJECT]:,} events) {fmt(s['stats_project_1_ms'])} ms, for project 2 "
        f"({info.stored[SECOND_PROJECT]:,} events) {fmt(s['stats_project_2_ms'])} ms; project 1's SQL with "
        f"its project filter {fmt(s['stats_sql_scoped_ms'])} ms, with the filter replaced by TRUE (reading "
        f"both projects) {fmt(s['stats_sql_unscoped_ms'])} ms."
    )
    md.append(
        "\nMachine load during each phase (CPU busy of all cores, by everything / by this process; the "
        "PostgreSQL server's work counts as everything): "
        + "; ".join(
            f"phase {n}: {p['machine_cpu_busy_pct']:.0f} % / {p['own_cpu_pct']:.0f} %, load average before "
            f"{p['load_before'][0]:.2f}"
            for n, p in enumerate(passes, start=1)
        )
        + "."
    )
    md.append("\n```json\n" + json.dumps(facts, indent=2) + "\n```")
    mismatched = [m for m in measures if m.mismatches]
    for m in mismatched:
        md.append(f"\n**MISMATCH — {m.question.name}:**\n")
        md += [f"- {line}" for line in m.mismatches[:20]]  # type: ignore[index]
    over = [
        m
        for m in measures
        if not m.skipped and m.question.target_ms is not None and (m.uncached or 0) > m.question.target_ms
    ]
    report = "\n".join(md) + "\n"
    console.print()
    print(report, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"query-{stamp}.md"
    out.write_text(report)
    raw = {
        "facts": facts,
        "passes": [
            {
                **{k: v for k, v in p.items() if k != "measures"},
                "measures": [
                    {
                        "name": m.question.name,
                        "kind": m.question.kind,
                        "body": m.question.body,
                        "skipped": m.skipped,
                        "cold_ms": m.cold_ms,
                        "uncached_ms": m.uncached_ms,
                        "sql_ms": m.sql_ms,
                        "cached_ms": m.cached_ms,
                        "pg_ms": m.pg_ms,
                        "pg_error": m.pg_error,
                        "mismatches": m.mismatches,
                    }
                    for m in p["measures"]
                ],
            }
            for p in passes
        ],
    }
    out.with_suffix(".json").write_text(json.dumps(raw, indent=2, default=str))
    if over:
        explain = out.with_name(f"query-{stamp}-explain.txt")
        explain.write_text("\n\n".join(f"## {m.question.name}\n\n{bench.explain(m)}" for m in over))
        console.print(f"EXPLAIN ANALYZE of the questions over target: {explain}")
    console.print(f"Written {out}")
    if mismatched:
        console.print(f"[bold red]{len(mismatched)} question(s) disagree with PostgreSQL: see above.[/]")
        sys.exit(1)


if __name__ == "__main__":
    main()
