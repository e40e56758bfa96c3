"""What keeping the person hours (store version 7, ``store.person_hours``) costs the writer, per batch.

    .venv/bin/python bench/writer_hours.py                  # reuse bench/query.py's store, 2 rounds
    .venv/bin/python bench/writer_hours.py --rounds 3 --batch-rows 50000

The data is bench/query.py's store (10 M events in project 1; built if missing). A copy of it, brought to
the current store version once (the migration's time is reported), is copied again for every run, so that
each run writes into the same full store: the project's last two days of events sent again (new uuids and
visits, the same people and alias links), in batches of ``--batch-rows`` rows (the writer's default is
20,000), in three scenarios: **two days later** (every person-hour is new: each row of the tables changes,
as when the writer catches up a backlog), **the same hours** (every person-hour is stored already, but the
writer has just started and does not know it) and **the same hours, known to the writer** (before each
batch, untimed, it stored the same person-hours in other events: as a live writer's batches mostly repeat
the current hour's). Two ways each, alternated round after round (the machine's speed drifts): **with**
the person hours (the code as it is), and **without** (their statements replaced by no-ops), each
``write_batch`` timed. Results go to ``bench/results/writer-hours-<timestamp>.md``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import orjson
from rich.console import Console
from rich.progress import track

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from belvedere.store import person_hours
from belvedere.store.copy import Source
from belvedere.store.duckdb import DuckDBEventStore
from bench.dashboard import machine
from bench.query_data import MAIN_PROJECT, DataSpec, ensure_store

RESULTS = Path(__file__).resolve().parent / "results"
# name: (shift, whether the writer first stores the same person-hours in other events, untimed)
SCENARIOS = {
    "two days later": (2 * 86_400_000, False),
    "the same hours": (0, False),
    "the same hours, known to the writer": (0, True),
}


def batches(path: Path, batch_rows: int, shift_ms: int, visits: str = "-later") -> list[bytes]:
    """The main project's last two days, as NDJSON batches of new events ``shift_ms`` later."""
    source = Source.open(path)
    try:
        days = [d for d in source.days() if d.project_id == MAIN_PROJECT][-2:]
        out: list[bytes] = []
        for day in days:
            for chunk in source.rows(day, batch_rows):
                rows = [orjson.loads(line) for line in chunk.splitlines()]
                for row in rows:
                    row["uuid"] = str(uuid.uuid4())
                    row["timestamp"] += shift_ms
                    row["received_at"] += shift_ms
                    if row.get("session_id"):  # new visits: a returning person's visits two days later
                        row["session_id"] += visits
                out.append(b"".join(orjson.dumps(r) + b"\n" for r in rows))
        return out
    finally:
        source.close()


# The person hours' statements as no-ops (those given the batch's links still read them).
_NO_HOURS: dict[str, object] = {
    "BATCH_HOURS": "CREATE TEMP TABLE batch_hours"
    " (project_id BIGINT, stored_id VARCHAR, event VARCHAR, hour INT)",
    "ADD_ID_HOURS": (),
    "ADD_PERSON_HOURS": (),
    "CHANGED_PEOPLE": "SELECT len($project) + len($alias) + len($person)",
    "REBUILD_PEOPLE": (),
}


@contextmanager
def without_hours() -> Iterator[None]:
    saved = {name: getattr(person_hours, name) for name in _NO_HOURS}
    try:
        for name, value in _NO_HOURS.items():
            setattr(person_hours, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(person_hours, name, value)


def run(
    template: Path, work: Path, payloads: list[bytes], *, hours: bool, before: list[bytes]
) -> list[float]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copy(template, work / "events.duckdb")
    store = DuckDBEventStore(work / "events.duckdb", memory_limit="2GB", threads=2)
    store.open()
    seconds: list[float] = []
    try:
        with nullcontext() if hours else without_hours():
            for position, body in enumerate(payloads, start=1):
                if before:  # the same hours' other events just before, untimed
                    store.write_batch(before[position - 1], checkpoint=(1 << 41, position), dedupe=False)
                started = time.perf_counter()
                store.write_batch(body, checkpoint=(1 << 40, position), dedupe=False)
                seconds.append(time.perf_counter() - started)
    finally:
        store.close()
        shutil.rmtree(work, ignore_errors=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=RESULTS / "query-store", help="bench/query.py's store")
    parser.add_argument("--batch-rows", type=int, default=20_000, help="events per batch")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each way, alternated")
    args = parser.parse_args()
    console = Console(highlight=False)
    info = ensure_store(args.data, DataSpec(events=10_000_000, second_events=200_000), console)
    template = RESULTS / "writer-hours" / "template.duckdb"
    template.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(info.path, template)
    store = DuckDBEventStore(template, memory_limit="2GB", threads=2)
    started = time.perf_counter()
    store.open()  # brings it to the current version
    migration = time.perf_counter() - started
    store.close()
    console.print(f"Migrated the copy in {migration:.1f} s")
    lines = [
        f"# Person hours: the writer's cost per batch — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        *(f"- {k}: {v}" for k, v in machine().items()),
        f"- Store: {info.path} ({sum(info.stored.values()):,} events); migration to the current version:"
        f" {migration:.1f} s",
        f"- Batches of up to {args.batch_rows:,} rows, {args.rounds} rounds per way, alternated",
        "",
        "| Scenario | Way | Median batch (ms) | Mean batch (ms) | Total per run (s) |",
        "|---|---|---|---|---|",
    ]
    for scenario, (shift_ms, warm) in SCENARIOS.items():
        payloads = batches(template, args.batch_rows, shift_ms)
        before = batches(template, args.batch_rows, shift_ms, "-earlier") if warm else []
        events = sum(p.count(b"\n") for p in payloads)
        console.print(f"{scenario}: {len(payloads)} batches, {events:,} events")
        runs: dict[bool, list[list[float]]] = {True: [], False: []}
        order = [True, False]
        for _ in track(range(args.rounds), description="Rounds", console=console):
            for hours in order:
                runs[hours].append(
                    run(template, RESULTS / "writer-hours" / "run", payloads, hours=hours, before=before)
                )
            order.reverse()
        for hours, label in ((True, "with person hours"), (False, "without")):
            every = [s for one in runs[hours] for s in one]
            totals = ", ".join(f"{sum(one):.2f}" for one in runs[hours])
            lines.append(
                f"| {scenario} ({events:,} events) | {label} | {statistics.median(every) * 1000:.0f} |"
                f" {statistics.mean(every) * 1000:.0f} | {totals} |"
            )
    out = RESULTS / f"writer-hours-{time.strftime('%Y%m%d-%H%M')}.md"
    out.write_text("\n".join(lines) + "\n")
    console.print("\n".join(lines[-8:]))
    console.print(f"Results written to {out}")
    shutil.rmtree(template.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
