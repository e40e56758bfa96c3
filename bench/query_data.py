"""The query benchmark's data: demo history enriched by the real ingest pipeline, stored in DuckDB.

Events come from the deterministic demo generator (``belvedere.demo``): the propmanager product feeds the
big project, aichat a small second one. They go through the same steps as a ``POST /capture`` — validation,
user agent, geo, source/channel, visitor/person/session (``IngestService.prepare``) — minus HTTP and the
spool, and the enriched NDJSON goes to ``DuckDBEventStore.write_batch`` in batches of about 200,000 rows,
exactly what the store writer would hand it. Crawler events are dropped by the pipeline, as in production.
To use both cores, worker processes each enrich a share of the visitors (see ``_worker``); this process
only writes.

The store is built once and reused while its parameters match (``meta.json`` beside it).
"""

from __future__ import annotations

import heapq
import json
import multiprocessing
import shutil
import threading
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from queue import Queue
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from belvedere.accounts.service import ProjectInfo
from belvedere.accounts.settings import ProjectSettings
from belvedere.demo import aichat_data, propmanager_data
from belvedere.demo.generator import DemoEvent, generate
from belvedere.ingest.enrich.geo import GeoStep, make_resolver
from belvedere.ingest.enrich.source import SourceStep
from belvedere.ingest.enrich.ua import UserAgentParser, UserAgentStep
from belvedere.ingest.enrich.visitor import IdentityMap, Sessionizer, VisitorStep, Visits
from belvedere.ingest.pipeline import Pipeline
from belvedere.ingest.service import IngestService
from belvedere.ingest.validate import Limits
from belvedere.platform.metrics import Metrics
from belvedere.store.duckdb import DuckDBEventStore

DATA_VERSION = 1  # bump when the way rows are made changes, so cached stores are rebuilt
TIMEZONE = "Europe/Paris"
MAIN_PROJECT, SECOND_PROJECT = 1, 2
PRODUCT_OF = {MAIN_PROJECT: "propmanager", SECOND_PROJECT: "aichat"}
BOT_SHARE = {"propmanager": propmanager_data.PROFILE.bot_share, "aichat": aichat_data.PROFILE.bot_share}
# The history ends at a fixed instant (so the data, and the answers, are the same on every run); queries
# are asked "now" = END. 90 days hold 12 weekly retention cohorts and a 30-day range with its previous one.
END = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DAYS = 90
SEED = 42
BATCH_ROWS = 200_000
PREPARE_CHUNK = 5_000  # payloads handed to IngestService.prepare at once (a large capture request)


@dataclass(frozen=True)
class DataSpec:
    events: int  # events wanted in the main project's store (generated: a little more, crawlers are dropped)
    second_events: int
    seed: int = SEED
    days: int = DAYS
    end: str = END.isoformat()
    version: int = DATA_VERSION


@dataclass
class StoreInfo:
    path: Path
    spec: DataSpec
    stored: dict[int, int]  # project id -> events stored
    build_seconds: float | None
    built_now: bool

    @property
    def total(self) -> int:
        return sum(self.stored.values())


class _NoSalts:
    """Demo events always carry a distinct_id, so the cookieless salted hash is never needed; the real
    SaltRing would want the metadata database for its daily salts."""

    def salts(self) -> tuple[bytes, bytes | None]:
        raise RuntimeError("a demo event without distinct_id")


def make_ingest() -> IngestService:
    """The production capture path, built as ``Runtime`` builds it, without spool or HTTP."""
    pipeline = Pipeline(
        [
            UserAgentStep(UserAgentParser(20_000), drop_bots=True),
            GeoStep(make_resolver(None)),
            SourceStep(),
            VisitorStep(
                salts=_NoSalts(),  # type: ignore[arg-type]
                visits=Visits(Sessionizer(), IdentityMap()),
                default_timeout_minutes=30,
            ),
        ]
    )
    limits = Limits(max_properties_bytes=32_768, max_future_ms=600_000)
    return IngestService(pipeline=pipeline, spool=None, limits=limits, metrics=Metrics())  # type: ignore[arg-type]


def _project(project_id: int) -> ProjectInfo:
    return ProjectInfo(project_id, 1, PRODUCT_OF[project_id], TIMEZONE, ProjectSettings())


def _events(spec: DataSpec) -> Iterator[DemoEvent]:
    """Both products' histories merged in time order, as a live server would receive them."""
    end = datetime.fromisoformat(spec.end)
    streams = []
    for project_id, wanted in ((MAIN_PROJECT, spec.events), (SECOND_PROJECT, spec.second_events)):
        product = PRODUCT_OF[project_id]
        asked = round(wanted / (1 - BOT_SHARE[product]))
        streams.append(generate(seed=spec.seed, events=asked, end=end, days=spec.days, products=(product,)))
    return heapq.merge(*streams, key=lambda e: e.timestamp_ms)


def _signature(path: Path) -> dict[str, Any] | None:
    meta = path.with_name("meta.json")
    if not path.exists() or not meta.exists():
        return None
    return json.loads(meta.read_text())


def ensure_store(
    folder: Path, spec: DataSpec, console: Console, *, rebuild: bool = False, workers: int = 2
) -> StoreInfo:
    path = folder / "events.duckdb"
    meta = _signature(path)
    if meta is not None and meta.get("spec") == asdict(spec) and not rebuild:
        stored = {int(k): v for k, v in meta["stored"].items()}
        console.print(f"[green]Reusing[/] {path} ({sum(stored.values()):,} events)")
        return StoreInfo(path, spec, stored, meta.get("build_seconds"), built_now=False)
    return _build(folder, spec, console, workers)


def _worker(index: int, workers: int, spec: DataSpec, out: Any) -> None:
    """Generate the whole history, enrich this worker's share of the visitors, send NDJSON chunks.

    Visitors are split by a hash of their distinct_id: every piece of ingest state (open sessions, the
    alias map) is per visitor, so each worker's pipeline gives the rows a single pipeline would. (A visitor
    who signs up changes distinct_id and may move to the other worker; its anonymous id never sends an
    event after the alias, so nothing is lost.) Every worker pays for the whole generation (~10 us/event)
    but only for its share of the enrichment (~30-60 us/event)."""
    try:
        ingest = make_ingest()
        projects = {p: _project(p) for p in PRODUCT_OF}
        product_project = {v: k for k, v in PRODUCT_OF.items()}
        pending: dict[int, list[dict[str, object]]] = {p: [] for p in projects}
        seen = 0

        def send(project_id: int) -> None:
            nonlocal seen
            payloads = pending[project_id]
            last_ms = int(payloads[-1]["timestamp"])  # type: ignore[call-overload]
            # Received a few seconds after the request's last event, as a live SDK batch would be.
            rows, result = ingest.prepare(projects[project_id], payloads, now_ms=last_ms + 2_000)
            out.put(("rows", index, rows, result.accepted, seen))
            pending[project_id], seen = [], 0

        for item in _events(spec):
            distinct_id = str(item.payload["distinct_id"])
            if zlib.crc32(distinct_id.encode()) % workers != index:
                continue
            project_id = product_project[item.product]
            pending[project_id].append(item.payload)
            seen += 1
            if len(pending[project_id]) >= PREPARE_CHUNK:
                send(project_id)
        for project_id, payloads in pending.items():
            if payloads:
                send(project_id)
        out.put(("done", index, ingest.pipeline.take_timings()))
    except BaseException:
        out.put(("error", index, traceback.format_exc()))


def _build(folder: Path, spec: DataSpec, console: Console, workers: int) -> StoreInfo:
    building = folder / "building"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    started = time.perf_counter()
    expected = sum(round(n / (1 - BOT_SHARE[PRODUCT_OF[p]])) for p, n in _wanted(spec).items())
    # Workers are forked before DuckDB opens (forking a process with DuckDB's threads running is unsafe).
    mp = multiprocessing.get_context("fork")
    chunks: Any = mp.Queue(maxsize=16 * workers)
    procs = [mp.Process(target=_worker, args=(i, workers, spec, chunks), daemon=True) for i in range(workers)]
    for proc in procs:
        proc.start()
    store = DuckDBEventStore(building / "events.duckdb", memory_limit="2GB", threads=2)
    store.open()
    stage = {"total": 0.0, "write_batch": 0.0}
    written = handled = 0
    timings: Counter[str] = Counter()

    # The store writes on its own thread, as the server's writer does: DuckDB releases the GIL while it
    # loads a batch, so this process keeps collecting the workers' chunks meanwhile.
    batches: Queue[bytes | None] = Queue(maxsize=2)
    errors: list[BaseException] = []

    def writer() -> None:
        nonlocal written
        while (rows := batches.get()) is not None:
            try:
                t0 = time.perf_counter()
                written += store.write_batch(rows, checkpoint=(0, written), dedupe=False)
                stage["write_batch"] += time.perf_counter() - t0
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

    thread = threading.Thread(target=writer, name="bench-writer")
    thread.start()
    # One batch per worker at a time, so each batch (and each of its row groups) covers one stretch of time.
    pending: dict[int, list[bytes]] = {i: [] for i in range(workers)}
    pending_rows = dict.fromkeys(range(workers), 0)

    def flush(worker: int) -> None:
        if errors:
            raise errors[0]
        if pending_rows[worker]:
            batches.put(b"".join(pending[worker]))
            pending[worker], pending_rows[worker] = [], 0

    columns = (
        TextColumn("[bold]building the DuckDB store"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, console=console, refresh_per_second=2) as progress:
            task = progress.add_task("build", total=expected, rate="")
            done = 0
            while done < workers:
                message = chunks.get()
                if message[0] == "error":
                    raise RuntimeError(f"build worker {message[1]} failed:\n{message[2]}")
                if message[0] == "done":
                    timings.update(message[2])
                    flush(message[1])
                    done += 1
                    continue
                _, worker, rows, accepted, seen = message
                pending[worker].append(rows)
                pending_rows[worker] += accepted
                handled += seen
                if pending_rows[worker] >= BATCH_ROWS:
                    flush(worker)
                rate = f"{handled / (time.perf_counter() - started):,.0f} ev/s"
                progress.update(task, completed=handled, rate=rate)
            batches.put(None)
            thread.join()
            if errors:
                raise errors[0]
            progress.update(task, completed=handled)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
        if thread.is_alive():
            batches.put(None)
            thread.join()
    stage["total"] = time.perf_counter() - started
    # The server's writer marks the visits' pages every few seconds; here, once at the end.
    t0 = time.perf_counter()
    store.mark_pages()
    stage["mark_pages"] = time.perf_counter() - t0
    store.execute("CHECKPOINT")
    stored = {p: store.count_events(project_id=p) for p in PRODUCT_OF}
    store.close()
    build_seconds = time.perf_counter() - started
    target = folder / "events.duckdb"
    target.unlink(missing_ok=True)
    (building / "events.duckdb").rename(target)
    shutil.rmtree(building, ignore_errors=True)
    meta = {
        "spec": asdict(spec),
        "stored": stored,
        "generated": handled,
        "workers": workers,
        "build_seconds": round(build_seconds, 1),
        "stage_seconds": {k: round(v, 1) for k, v in stage.items()},
        "pipeline_step_seconds": {k: round(v, 1) for k, v in timings.items()},
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    target.with_name("meta.json").write_text(json.dumps(meta, indent=2))
    console.print(
        f"Built {target}: {handled:,} events generated, {sum(stored.values()):,} stored "
        f"in {build_seconds:,.0f} s with {workers} worker processes (write_batch "
        f"{stage['write_batch']:,.0f} s on its own thread; pipeline steps, all workers: {dict(timings)})"
    )
    return StoreInfo(target, spec, stored, round(build_seconds, 1), built_now=True)


def _wanted(spec: DataSpec) -> dict[int, int]:
    return {MAIN_PROJECT: spec.events, SECOND_PROJECT: spec.second_events}
