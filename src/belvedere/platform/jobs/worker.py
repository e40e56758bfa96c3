"""``Worker``: claims due jobs and runs them on a pool of threads, keeps their leases, gives back jobs whose
worker died, and runs the scheduler's tick.

``belvedere serve`` runs one inside the server (embedded), ``belvedere worker`` runs one on its own. Several
workers, in any number of processes, share one queue safely: claims are atomic, leases are fenced, and a
schedule's tick is enqueued once. ``run_once`` does one round synchronously, for tests with a clock.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

import structlog

from belvedere.platform import threads
from belvedere.platform.db import transaction
from belvedere.platform.jobs import claims, scheduler
from belvedere.platform.jobs.claims import Claim
from belvedere.platform.jobs.context import JobContext
from belvedere.platform.jobs.queue import Jobs
from belvedere.platform.jobs.registry import Permanent

log = structlog.get_logger(__name__)


class LeaseLost(Exception):
    """The job's lease expired while it ran and the job was handed on: this run's writes are dropped."""


def _describe(exc: BaseException) -> str:
    """The error as kept on the job: a permanent refusal's own words; otherwise its type, message and the
    last frames that raised it."""
    if isinstance(exc, Permanent):
        return str(exc)
    where = traceback.extract_tb(exc.__traceback__)[-3:]
    frames = "".join(f"\n  at {f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in where)
    return f"{type(exc).__name__}: {exc}{frames}"


class Worker:
    def __init__(
        self,
        jobs: Jobs,
        *,
        queues: Sequence[str],
        concurrency: int = 2,
        lease: timedelta = timedelta(seconds=60),
        poll: float = 1.0,
        housekeeping: timedelta = timedelta(seconds=1),
        name: str | None = None,
        on_run: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self.jobs = jobs
        self.queues = tuple(queues)
        self.concurrency = concurrency
        self.lease = lease
        self.poll = poll
        self.housekeeping_every = housekeeping
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10_000}"
        self.rng = random.Random()
        self._running: dict[int, tuple[Claim, datetime]] = {}
        self._lock = threading.Lock()
        self._slot_freed = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._futures: set[Future[None]] = set()
        self._last_housekeeping: datetime | None = None
        self._last_heartbeat: datetime | None = None
        self._loop = threads.Background(f"jobs-{self.name}", self._serve)
        self.on_run = on_run  # (job name, outcome, seconds) after each run: metrics

    # --- one round ---------------------------------------------------------------------------------------

    def sync_schedules(self) -> None:
        with transaction(self.jobs.sessions) as session:
            scheduler.sync(session, self.jobs.registry.schedules, self.jobs.clock())

    def housekeeping(self, now: datetime) -> None:
        """Give back the jobs of dead workers, and enqueue the schedules that are due."""
        with transaction(self.jobs.sessions) as session:
            lost = claims.reap(session, now)
        if lost:
            log.warning("jobs.reaped", jobs=lost)
        scheduler.tick(self.jobs, now)
        self._last_housekeeping = now

    def claim(self, limit: int) -> list[Claim]:
        now = self.jobs.clock()
        with transaction(self.jobs.sessions) as session:
            return claims.claim(session, self.queues, limit, worker=self.name, lease=self.lease, now=now)

    def run_once(self) -> int:
        """Housekeeping, then claim up to ``concurrency`` due jobs and run them here, one after the other."""
        self.housekeeping(self.jobs.clock())
        claimed = self.claim(self.concurrency)
        for claim in claimed:
            self.execute(claim)
        return len(claimed)

    def execute(self, claim: Claim) -> str:
        """Run one claimed job to its outcome: ``succeeded``, ``failed``, ``dead`` or ``lost``."""
        spec = self.jobs.registry.jobs.get(claim.name)
        outcome = "lost"
        began = time.monotonic()
        try:
            if spec is None:
                raise LookupError(f"no handler for job {claim.name!r} in this worker")
            with transaction(self.jobs.sessions) as session:
                spec.handler(JobContext(claim, session, self.jobs))
                if not claims.succeed(session, claim, self.jobs.clock()):
                    raise LeaseLost
            outcome = "succeeded"
        except LeaseLost:
            log.warning("jobs.lease_lost", job=claim.id, name=claim.name)
        except Exception as exc:
            permanent = isinstance(exc, Permanent)
            now = self.jobs.clock()
            retry_at = None
            if not permanent and spec is not None:
                retry_at = now + spec.retry.delay(claim.attempt, self.rng)
            elif not permanent:
                retry_at = now + timedelta(minutes=1)
            with transaction(self.jobs.sessions) as session:
                status = claims.fail(session, claim, _describe(exc), retry_at=retry_at, now=now)
            outcome = status or "lost"
            log.warning(
                "jobs.failed",
                job=claim.id,
                name=claim.name,
                attempt=claim.attempt,
                outcome=outcome,
                error=str(exc)[:300],
            )
        if self.on_run is not None:
            self.on_run(claim.name, outcome, time.monotonic() - began)
        return outcome

    # --- in the background -------------------------------------------------------------------------------

    def start(self) -> None:
        self.sync_schedules()
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="job")
        self._loop.start()
        log.info(
            "jobs.worker_started", worker=self.name, queues=list(self.queues), concurrency=self.concurrency
        )

    def stop(self, grace: float = 30.0) -> None:
        """Stop claiming; wait up to ``grace`` seconds for the jobs running here. A job still running after
        that keeps its lease until it runs out, and is then given to another worker."""
        self._loop.stopping.set()
        self._slot_freed.set()
        self.jobs.waker.notify(self.queues[0])
        self._loop.stop()
        pool, self._pool = self._pool, None
        if pool is not None:
            from concurrent.futures import wait

            wait(list(self._futures), timeout=grace)
            pool.shutdown(wait=False, cancel_futures=True)

    def _serve(self) -> None:
        stopping = self._loop.stopping
        while not stopping.is_set():
            try:
                woken = self._round()
            except Exception:
                log.exception("jobs.worker_round_failed", worker=self.name)
                stopping.wait(self.poll)
                continue
            if woken:
                continue
            with self._lock:
                full = len(self._running) >= self.concurrency
            if full:
                self._slot_freed.wait(self.poll)
                self._slot_freed.clear()
            else:
                self.jobs.waker.wait(self.queues, self.poll)

    def _round(self) -> bool:
        """Housekeeping and heartbeats when due, then claim what fits; True when there may be more to do."""
        now = self.jobs.clock()
        if self._last_housekeeping is None or now - self._last_housekeeping >= self.housekeeping_every:
            self.housekeeping(now)
        if self._last_heartbeat is None or now - self._last_heartbeat >= self.lease / 3:
            self._heartbeat(now)
        with self._lock:
            free = self.concurrency - len(self._running)
        claimed = self.claim(free) if free > 0 else []
        for claim in claimed:
            self._submit(claim)
        return bool(claimed) and len(claimed) == free

    def _submit(self, claim: Claim) -> None:
        assert self._pool is not None
        with self._lock:
            self._running[claim.id] = (claim, self.jobs.clock())
        future = self._pool.submit(self._run_here, claim)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    def _run_here(self, claim: Claim) -> None:
        try:
            self.execute(claim)
        except Exception:  # the database was unreachable to record the outcome: the lease will run out
            log.exception("jobs.outcome_not_recorded", job=claim.id)
        finally:
            with self._lock:
                self._running.pop(claim.id, None)
            self._slot_freed.set()

    def _heartbeat(self, now: datetime) -> None:
        """Extend the leases of the jobs running here, except those past their timeout: their lease runs out,
        the job is given to another worker, and whatever this run still does is fenced off."""
        with self._lock:
            alive = [c for c, started in self._running.values() if now - started < c.timeout]
        if alive:
            with transaction(self.jobs.sessions) as session:
                claims.extend(session, alive, now + self.lease)
        self._last_heartbeat = now
