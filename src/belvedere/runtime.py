"""The composition root: builds every part of a running Belvedere from the settings, starts and stops it.

Start-up order matters for durability: the event store and the spool open first, whatever the spool holds
beyond the store's checkpoint is replayed into the store, and only then are visits resumed and traffic
accepted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy import text

from belvedere.accounts.plans import Plans
from belvedere.accounts.service import list_projects
from belvedere.auth.passwords import Passwords
from belvedere.auth.service import AuthService
from belvedere.auth.tokens import AccessTokens, key_set
from belvedere.config import Settings
from belvedere.ingest.enrich import standard_pipeline
from belvedere.ingest.enrich.visitor import MINUTE_MS, IdentityMap, Sessionizer, Visits
from belvedere.ingest.gatekeeper import Gatekeeper
from belvedere.ingest.relay import Relay, worker_spool_dir
from belvedere.ingest.salts import SaltRing
from belvedere.ingest.service import IngestService
from belvedere.ingest.spool import Position, Spool
from belvedere.ingest.stream import StreamBuffer, StreamTail
from belvedere.ingest.validate import Limits
from belvedere.ingest.writer import StoreWriter
from belvedere.insights.cohorts.jobs import CohortStore
from belvedere.job_catalog import load_handlers, provide
from belvedere.platform import migrate
from belvedere.platform.db import make_engine, make_session_factory, transaction
from belvedere.platform.errands import Errands
from belvedere.platform.jobs import QUEUES, Worker
from belvedere.platform.jobs.metrics import QueueCollector
from belvedere.platform.jobs.upkeep import build_jobs, build_worker
from belvedere.platform.mail import Mailer
from belvedere.platform.metrics import Metrics
from belvedere.platform.ratelimit import RateLimiter
from belvedere.query import QueryService
from belvedere.query.cache import QueryCache
from belvedere.query.desk import QueryDesk
from belvedere.query.gate import GateLimits, QueryGate
from belvedere.store.registry import make_store

log = structlog.get_logger(__name__)

RELAY_CHUNK_BYTES = 4 * 1024 * 1024  # most bytes relayed from one worker spool in one step


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    name: str
    ok: bool
    latency_ms: float
    detail: Mapping[str, object]


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.engine = make_engine(settings.metadata_url)
        self.sessions = make_session_factory(self.engine)
        self.store = make_store(settings)
        self.spool = Spool.from_settings(settings.spool_dir, settings.spool)
        self.queries = QueryService(
            self.store,
            QueryCache(settings.query.cache_entries),
            time_limit_seconds=settings.query.time_limit_seconds,
            on_answer=self.metrics.observe_query,
        )
        self.gate = QueryGate(
            {"insights": settings.store.max_concurrent_queries, "sql": settings.store.max_sql_queries},
            GateLimits(per_tenant=settings.query.per_tenant, queue=settings.query.queue_length),
        )
        self.salts = SaltRing(self.sessions)
        self.sessionizer = Sessionizer()
        self.identities = IdentityMap()
        self.visits = Visits(self.sessionizer, self.identities)
        ingest = settings.ingest
        self.pipeline, self.geo = standard_pipeline(settings, self.salts, self.visits)
        self.ingest = IngestService(
            pipeline=self.pipeline,
            spool=self.spool,
            limits=Limits.from_settings(ingest),
            metrics=self.metrics,
        )
        self.writer = StoreWriter(
            spool=self.spool,
            store=self.store,
            batch_rows=settings.writer.batch_rows,
            flush_interval_ms=settings.writer.flush_interval_ms,
            max_batch_bytes=settings.writer.max_batch_bytes,
            quarantine_dir=settings.data_dir / "quarantine",
            on_batch=self.metrics.observe_batch,
            on_marks=self.metrics.observe_marks,
        )
        self.plans = Plans(settings.plans)
        self.desk = QueryDesk(self.queries, self.gate, self.plans)
        self.errands = Errands()
        self.mailer = Mailer(settings.mail, log_bodies=settings.env == "development")
        load_handlers()
        self.jobs = build_jobs(settings.jobs, self.sessions)
        self.alerts, self.channels = provide(self.jobs, settings, self.plans, self.mailer)
        self.jobs.provide(QueryService, self.queries)
        self.jobs.provide(CohortStore, self.store)  # type: ignore[type-abstract]
        self.alerts.count = lambda project_id, spec: self.queries.run(
            spec, project_id=project_id, timezone="UTC", background=True
        )
        self.metrics.registry.register(QueueCollector(self.jobs))
        self.worker: Worker | None = None
        self.limiter = RateLimiter(settings.rate_limit.storage_url)
        self.gatekeeper = Gatekeeper.build(
            settings, self.sessions, plans=self.plans, limiter=self.limiter, mailer=self.mailer
        )
        self.projects, self.throttle = self.gatekeeper.projects, self.gatekeeper.throttle
        self.usage = self.gatekeeper.usage
        self.auth = AuthService(
            settings,
            passwords=Passwords(settings.auth),
            tokens=AccessTokens(key_set(settings), settings.auth.access_token_minutes * 60),
            limiter=self.limiter,
            mailer=self.mailer,
        )
        self.relay: Relay | None = None
        # Capture workers' metric snapshots, merged into /metrics (docs/operations.md).
        self.worker_metrics = settings.data_dir / "metrics"
        self.started = False

    def _worker_spools(self) -> list[Path]:
        """The capture workers' spools: one per configured worker, and any left by an earlier run with more
        workers (they are relayed too, so that nothing they hold is stranded)."""
        count = self.settings.server.capture_workers
        folders = {worker_spool_dir(self.settings.spool_dir, i) for i in range(count)}
        parent = self.settings.spool_dir / "workers"
        if parent.is_dir():
            folders.update(p for p in parent.iterdir() if p.is_dir() and p.name.isdigit())
        return sorted(folders, key=lambda p: int(p.name))

    def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate.upgrade(self.engine)
        self.store.open()
        checkpoint = self.store.checkpoint()
        start = self.spool.open(Position(*checkpoint) if checkpoint else None)
        replayed = self.writer.drain(start)
        if replayed:
            log.info("spool.replayed", events=replayed)
        self.identities.load(self.store.aliases())
        timeout_ms = self._longest_session_timeout_ms()
        resumed = self.sessionizer.resume(
            self.store.active_sessions(since_ms=int(time.time() * 1000) - timeout_ms), timeout_ms
        )
        self.salts.salts()
        self.writer.start(self.writer.position)
        for stale in self.worker_metrics.glob("*.json"):  # counters of an earlier run's workers
            stale.unlink()
        sources, stream = self._worker_spools(), self._stream()
        if sources or stream is not None:
            self.relay = Relay(
                sources=sources,
                spool=self.spool,
                visits=self.visits,
                max_bytes=RELAY_CHUNK_BYTES,
                stream=stream,
            )
            self.relay.start()
        self.metrics.watch(self.metrics.relay_backlog, self._relay_backlog)
        self.metrics.watch(self.metrics.spool_depth, lambda: self.spool.depth_bytes)
        self.metrics.watch(self.metrics.spool_age, lambda: self.spool.oldest_age_seconds)
        self.metrics.watch(self.metrics.open_sessions, lambda: len(self.sessionizer))
        self.errands.start()
        if self.settings.jobs.run_in_server:
            # Every queue, `store` included: with the embedded store, only this process may read events.
            self.worker = build_worker(self.settings.jobs, self.jobs, QUEUES, on_run=self.metrics.observe_job)
            self.worker.start()
        self.started = True
        log.info(
            "runtime.started",
            store=f"{self.store.name} {self.store.location}",
            geo=self.geo.resolver.description,
            resumed_sessions=resumed,
        )

    def _stream(self) -> StreamTail | None:
        """The shared ingest stream's reading end, when capture processes feed one (``ingest.stream_url``)."""
        ingest = self.settings.ingest
        if ingest.stream_url is None:
            return None
        buffer = StreamBuffer(ingest.stream_url, ingest.stream_key, max_bytes=ingest.stream_max_bytes)
        return StreamTail(buffer)

    def _relay_backlog(self) -> float:
        relay = self.relay
        return relay.backlog_bytes if relay is not None else 0

    def _longest_session_timeout_ms(self) -> int:
        minutes = self.settings.ingest.default_session_timeout_minutes
        with transaction(self.sessions) as session:
            for project, _, _ in list_projects(session):
                minutes = max(minutes, project.settings.session_timeout_minutes or 0)
        return minutes * MINUTE_MS

    def stop(self) -> None:
        if not self.started:
            return
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        self.jobs.waker.close()
        self.errands.stop()
        self.writer.stop()
        self.usage.flush()
        self.spool.close()
        self.store.close()
        self.engine.dispose()
        self.started = False
        log.info("runtime.stopped")

    def maintain(self) -> None:
        """Periodic upkeep: forget timed-out visits, rotate salts, publish step timings."""
        self.sessionizer.prune(int(time.time() * 1000))
        self.salts.salts()
        self.usage.flush()
        self.metrics.add_step_timings(self.pipeline.take_timings())

    async def maintain_forever(self, every_seconds: float = 15.0) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                self.maintain()
            except Exception:
                log.exception("runtime.maintenance_failed")

    # ------------------------------------------------------------------ health

    def health(self) -> list[ComponentHealth]:
        return [self._check_metadata(), self._check_store(), self._check_spool()]

    def _check_metadata(self) -> ComponentHealth:
        started = time.perf_counter()
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            ok, detail = True, {"dialect": self.engine.dialect.name}
        except Exception as exc:
            ok, detail = False, {"error": str(exc)}
        return ComponentHealth("metadata", ok, (time.perf_counter() - started) * 1000, detail)

    def _check_store(self) -> ComponentHealth:
        started = time.perf_counter()
        try:
            self.store.ping()
            ok, detail = self.writer.last_error is None, {"engine": self.store.name}
            if self.writer.last_error:
                detail["writer_error"] = self.writer.last_error
        except Exception as exc:
            ok, detail = False, {"error": str(exc)}
        return ComponentHealth("event_store", ok, (time.perf_counter() - started) * 1000, detail)

    def _check_spool(self) -> ComponentHealth:
        started = time.perf_counter()
        depth = self.spool.depth_bytes
        detail: dict[str, object] = {
            "depth_bytes": depth,
            "max_bytes": self.spool.max_bytes,
            "oldest_age_seconds": round(self.spool.oldest_age_seconds, 3),
        }
        ok = not self.spool.is_full()
        if self.relay is not None:
            detail["relay_backlog_bytes"] = self.relay.backlog_bytes
            if self.relay.last_error:
                ok, detail["relay_error"] = False, self.relay.last_error
        return ComponentHealth("spool", ok, (time.perf_counter() - started) * 1000, detail)
