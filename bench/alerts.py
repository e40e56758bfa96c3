"""How long one scheduler tick takes to evaluate 1,000 alert rules on the 10 M-event store, and how much it
slows dashboard queries meanwhile (issue #28: within 60 s on this 2-core machine, dashboards delayed by no
more than 20 %).

    .venv/bin/python bench/alerts.py                    # build or reuse bench/query.py's store, then measure
    .venv/bin/python bench/alerts.py --rules 1000 --rounds 3

The store is bench/query.py's (10 million demo events in project 1, Europe/Paris; history ending on
1 November 2026). A copy becomes the event store of a Belvedere runtime in this process, with a metadata
database made here. 1,000 rules are written straight into it: intervals 5m, hour, day and week, threshold
and change conditions, over a pool of metrics (the project's event names counted, counted per person and
summed, and the key figures), so that several rules share each metric. The queue's clock is pinned to
the history's last hour (10:07 UTC on 1 November), so the rules read buckets full of events.

One round: the tick job is enqueued and a worker like the server's (every queue, ``jobs.concurrency``
threads) runs it and the evaluation jobs it enqueues, until none is left: that is the tick's time. Before
and during that, a person opens dashboards in another thread: a dashboard's queries (key figures, the daily
chart and the pages of the last 7 days, each with a filter value never asked before, so never cached) one
after the other, then ``--think`` seconds of reading before the next. The median of their round trips
during the tick, over their median before it, is the delay. Evaluation queries are ``background``: they
take a store turn only when no dashboard query waits for one.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.dashboard import prepare
from bench.query_data import DataSpec, ensure_store

RESULTS = Path(__file__).resolve().parent / "results"
NOW = datetime(2026, 11, 1, 10, 7, tzinfo=UTC)
TARGET_SECONDS, TARGET_DELAY = 60.0, 1.20


def _metrics(events: list[str]) -> list[dict[str, Any]]:
    pool: list[dict[str, Any]] = [{"stat": s} for s in ("visitors", "visits", "pageviews", "bounce_rate")]
    for name in events:
        pool.append({"event": name})
        pool.append({"event": name, "math": "unique_users"})
    pool.append({"stat": "conversion_rate", "goal": events[1]})
    pool.append({"series": [{"event": events[1]}, {"event": "$pageview"}], "formula": "A / B * 100"})
    return pool


def _rules(count: int, events: list[str], rng: random.Random) -> list[dict[str, Any]]:
    metrics = _metrics(events)
    intervals = ["5m", "hour", "hour", "day", "day", "week"]
    out = []
    for i in range(count):
        if rng.random() < 0.7:
            condition = {
                "type": "threshold",
                "operator": rng.choice(["above", "below"]),
                "value": rng.randint(1, 500),
            }
        else:
            condition = {
                "type": "change",
                "direction": rng.choice(["up", "down"]),
                "percent": rng.choice([10, 20, 50]),
                "compare_to": rng.choice(["previous", "week_before"]),
            }
        out.append(
            {
                "name": f"Rule {i}",
                "series": rng.choice(metrics),
                "interval": rng.choice(intervals),
                "condition": condition,
                "pending_periods": rng.choice([1, 1, 2, 3]),
            }
        )
    return out


def _dashboard(runtime: Any, n: int) -> float:
    """One dashboard's queries (never cached: a filter value never asked before), in ms."""
    from belvedere.query import parse_query

    dates = {"date_from": "2026-10-25", "date_to": "2026-10-31"}
    never = [{"property": "properties.bench", "operator": "neq", "value": f"n{n}"}]
    specs = [
        {"kind": "stats", "filters": never, **dates},
        {"kind": "trends", "series": [{"event": "$pageview"}], "filters": never, **dates},
        {"kind": "breakdown", "dimension": "path", "filters": never, **dates},
    ]
    began = time.perf_counter()
    for spec in specs:
        runtime.queries.run(
            parse_query(spec), project_id=1, timezone="Europe/Paris", now=NOW.replace(tzinfo=None)
        )
    return (time.perf_counter() - began) * 1000


def _load(runtime: Any, stop: threading.Event, during: list[float], think: float) -> None:
    """A person on the dashboards: one loads, is read for ``think`` seconds, then the next."""
    n = 10_000
    while not stop.is_set():
        n += 1
        during.append(_dashboard(runtime, n))
        stop.wait(think)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=RESULTS / "query-data", help="bench/query.py's store folder"
    )
    parser.add_argument(
        "--work", type=Path, default=RESULTS / "alerts-data", help="this benchmark's data dir"
    )
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=int, default=15, help="dashboards measured before each tick")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between two dashboards")
    args = parser.parse_args()
    console = Console()
    store = ensure_store(args.data, DataSpec(events=10_000_000, second_events=200_000), console, workers=2)
    prepare(args.work, store.path, console)

    from sqlalchemy import delete, func, select

    from belvedere.alerts.models import AlertEvent, AlertRule
    from belvedere.alerts.rules import RuleDraft
    from belvedere.config import Settings
    from belvedere.platform.db import transaction
    from belvedere.platform.jobs import QUEUES
    from belvedere.platform.jobs.models import Job, JobAttempt
    from belvedere.platform.jobs.upkeep import build_worker
    from belvedere.runtime import Runtime

    settings = Settings(data_dir=args.work, jobs={"run_in_server": False}, query={"cache_entries": 0})
    runtime = Runtime(settings)
    runtime.start()
    runtime.jobs.clock = lambda: NOW
    asked = [0]
    run = runtime.queries.run

    def counted(*a: Any, **kw: Any) -> Any:
        asked[0] += 1
        return run(*a, **kw)

    runtime.queries.run = counted  # type: ignore[method-assign]
    top = runtime.store.execute(
        "SELECT event, count(*) AS n FROM events WHERE project_id = 1 GROUP BY event ORDER BY n DESC LIMIT 12"
    )
    events = [name for name, _ in top]
    rng = random.Random(7)
    with transaction(runtime.sessions) as session:
        session.execute(delete(AlertEvent))
        session.execute(delete(AlertRule))
        for raw in _rules(args.rules, events, rng):
            draft = RuleDraft.model_validate(raw)
            runtime.alerts.create(
                session, org_id=1, plan="unlimited", project_id=1, draft=draft, user_id=None
            )
    distinct = len({str(sorted(r["series"].items())) for r in _rules(args.rules, events, random.Random(7))})
    console.print(f"{args.rules} rules over {distinct} metrics; events {events[:4]}…")
    lines = []
    for round_no in range(1, args.rounds + 1):
        with transaction(runtime.sessions) as session:  # every rule due again: a fresh state
            session.execute(delete(JobAttempt))
            session.execute(delete(Job))
            session.execute(delete(AlertEvent))
            for rule in session.scalars(select(AlertRule)):
                rule.last_bucket, rule.state, rule.breaches, rule.recent = None, "ok", 0, None
        idle = []
        for i in range(args.baseline):
            idle.append(_dashboard(runtime, i))
            time.sleep(args.think)
        during: list[float] = []
        stop = threading.Event()
        asked[0] = 0
        worker = build_worker(settings.jobs, runtime.jobs, QUEUES)
        loader = threading.Thread(target=_load, args=(runtime, stop, during, args.think))
        began = time.perf_counter()
        runtime.jobs.enqueue("alerts.tick", {})
        loader.start()
        worker.start()
        while True:
            counts = runtime.jobs.stats().counts
            if not any(n for (_, s), n in counts.items() if s in ("pending", "running")):
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - began
        stop.set()
        loader.join()
        worker.stop()
        counts = runtime.jobs.stats().counts
        with transaction(runtime.sessions) as session:
            evaluated = session.scalar(
                select(func.count()).select_from(AlertRule).where(AlertRule.last_bucket.is_not(None))
            )
            firing = session.scalar(
                select(func.count()).select_from(AlertRule).where(AlertRule.state != "ok")
            )
        ratio = statistics.median(during) / statistics.median(idle) if during else float("nan")
        jobs_run = sum(n for (_, s), n in counts.items())
        line = (
            f"round {round_no}: {seconds:.1f} s for {evaluated}/{args.rules} rules ({jobs_run} jobs,"
            f" {asked[0]} queries, {firing} not ok); dashboard median {statistics.median(idle):.0f} ms idle,"
            f" {statistics.median(during):.0f} ms during ({len(during)} dashboards): {ratio:.2f}x"
        )
        console.print(line)
        lines.append(line)
    runtime.stop()
    load1 = os.getloadavg()[0]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    out = RESULTS / f"alerts-{stamp}.md"
    out.write_text(
        f"# bench/alerts.py — {stamp}\n\n{platform.processor() or platform.machine()},"
        f" {os.cpu_count()} CPUs, load {load1:.1f}; {store.total:,} events;"
        f" targets {TARGET_SECONDS:.0f} s and {TARGET_DELAY:.2f}x\n\n"
        + "\n".join(f"- {line}" for line in lines)
        + "\n"
    )
    console.print(f"Written to {out}")


if __name__ == "__main__":
    main()
