"""``Jobs``: put work on the queue, and see, retry or cancel it.

Enqueue inside the caller's session to make the job part of its transaction (an alert's transition and its
notifications commit together, or neither does). With an idempotency key, enqueueing the same work twice
leaves one job: the second call gets the first one's id, with ``created=False``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

import orjson
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from belvedere.platform.db import after_commit, transaction
from belvedere.platform.errors import Conflict, NotFound
from belvedere.platform.jobs.claims import now_utc, utc
from belvedere.platform.jobs.models import Job, JobAttempt
from belvedere.platform.jobs.registry import REGISTRY, Registry
from belvedere.platform.jobs.waker import LocalWaker, Waker

T = TypeVar("T")
Status = Literal["pending", "running", "succeeded", "failed", "dead"]
STATUSES: tuple[Status, ...] = ("pending", "running", "succeeded", "failed", "dead")
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_KEY_CHARS = 200


class JobStateError(Conflict):
    """The job is not in a state that allows this (retrying a running job, cancelling a finished one)."""

    code = "job_state"


@dataclass(frozen=True, slots=True)
class JobRef:
    id: int
    created: bool


@dataclass(frozen=True, slots=True)
class AttemptView:
    attempt: int
    worker: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "worker": self.worker,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "outcome": self.outcome,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class JobView:
    id: int
    name: str
    queue: str
    status: Status
    payload: dict[str, Any]
    idempotency_key: str | None
    attempts: int
    max_attempts: int
    last_error: str | None
    run_at: datetime
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    org_id: int | None
    project_id: int | None
    history: tuple[AttemptView, ...] = field(default=())

    @classmethod
    def of(cls, job: Job, history: tuple[AttemptView, ...] = ()) -> JobView:
        def at(value: datetime | None) -> datetime | None:
            return utc(value) if value is not None else None

        return cls(
            job.id,
            job.name,
            job.queue,
            job.status,  # type: ignore[arg-type]
            job.payload,
            job.idempotency_key,
            job.attempts,
            job.max_attempts,
            job.last_error,
            utc(job.run_at),
            utc(job.created_at),
            at(job.started_at),
            at(job.finished_at),
            job.org_id,
            job.project_id,
            history,
        )

    def as_json(self) -> dict[str, Any]:
        def at(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "name": self.name,
            "queue": self.queue,
            "status": self.status,
            "payload": self.payload,
            "idempotency_key": self.idempotency_key,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "last_error": self.last_error,
            "run_at": at(self.run_at),
            "created_at": at(self.created_at),
            "started_at": at(self.started_at),
            "finished_at": at(self.finished_at),
            "project_id": self.project_id,
            "history": [a.as_json() for a in self.history],
        }


@dataclass(frozen=True, slots=True)
class QueueStats:
    counts: dict[tuple[str, str], int]  # (queue, status) → jobs
    oldest_due_seconds: dict[str, float]  # queue → how long its oldest due job has waited


def _payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    payload = payload or {}
    try:
        size = len(orjson.dumps(payload))
    except TypeError as exc:
        raise ValueError(f"a job's payload must be JSON: {exc}") from None
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"a job's payload is {size:,} bytes; at most {MAX_PAYLOAD_BYTES:,}")
    return payload


class Jobs:
    """The queue of one install, over the metadata database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        registry: Registry = REGISTRY,
        *,
        clock: Callable[[], datetime] = now_utc,
        waker: Waker | None = None,
    ) -> None:
        self.sessions = sessions
        self.registry = registry
        self.clock = clock
        self.waker: Waker = waker or LocalWaker()
        self._deps: dict[type, object] = {}

    def provide(self, kind: type[T], value: T) -> None:
        """Make ``value`` available to handlers (``JobContext.need``): the composition root hands in the
        parts jobs use (the query service, the mail settings) so that contexts need not know it."""
        self._deps[kind] = value

    def need(self, kind: type[T]) -> T:
        try:
            return self._deps[kind]  # type: ignore[return-value]
        except KeyError:
            raise RuntimeError(
                f"this worker has no {kind.__name__}: the job runs where it is provided"
            ) from None

    def enqueue(
        self,
        name: str,
        payload: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        run_at: datetime | None = None,
        org_id: int | None = None,
        project_id: int | None = None,
        priority: int = 0,
        session: Session | None = None,
    ) -> JobRef:
        spec = self.registry.spec(name)
        if key is not None and not 0 < len(key) <= MAX_KEY_CHARS:
            raise ValueError(f"an idempotency key has 1 to {MAX_KEY_CHARS} characters")
        now = self.clock()
        values = {
            "name": name,
            "queue": spec.queue,
            "payload": _payload(payload),
            "status": "pending",
            "idempotency_key": key,
            "priority": priority,
            "run_at": run_at or now,
            "attempts": 0,
            "max_attempts": spec.retry.max_attempts,
            "timeout_seconds": int(spec.timeout.total_seconds()),
            "org_id": org_id,
            "project_id": project_id,
            "created_at": now,
        }
        if session is not None:
            ref = _insert(session, values)
            if ref.created:
                after_commit(session, lambda: self.waker.notify(spec.queue))
            return ref
        with transaction(self.sessions) as own:
            ref = _insert(own, values)
        if ref.created:
            self.waker.notify(spec.queue)
        return ref

    def get(self, job_id: int, *, org_id: int | None = None) -> JobView | None:
        with transaction(self.sessions) as session:
            job = session.get(Job, job_id)
            if job is None or (org_id is not None and job.org_id != org_id):
                return None
            attempts = session.scalars(
                select(JobAttempt).where(JobAttempt.job_id == job_id).order_by(JobAttempt.attempt)
            ).all()
            history = tuple(
                AttemptView(
                    a.attempt,
                    a.worker,
                    utc(a.started_at),
                    utc(a.finished_at) if a.finished_at else None,
                    a.outcome,
                    a.error,
                )
                for a in attempts
            )
            return JobView.of(job, history)

    def list(
        self,
        *,
        status: Status | None = None,
        name: str | None = None,
        queue: str | None = None,
        org_id: int | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[JobView]:
        """Newest first; page with ``before_id`` (the last id of the previous page)."""
        statement = select(Job).order_by(Job.id.desc()).limit(max(1, min(limit, 500)))
        for column, value in (
            (Job.status, status),
            (Job.name, name),
            (Job.queue, queue),
            (Job.org_id, org_id),
        ):
            if value is not None:
                statement = statement.where(column == value)
        if before_id is not None:
            statement = statement.where(Job.id < before_id)
        with transaction(self.sessions) as session:
            return [JobView.of(job) for job in session.scalars(statement)]

    def retry(self, job_id: int, *, org_id: int | None = None) -> JobView:
        """Run a dead or failed job again now, with a fresh allowance of attempts."""
        with transaction(self.sessions) as session:
            job = self._owned(session, job_id, org_id)
            if job.status not in ("dead", "failed"):
                raise JobStateError(f"job {job_id} is {job.status}; only a dead or failed job can be retried")
            spec = self.registry.jobs.get(job.name)
            allowance = spec.retry.max_attempts if spec else 1
            job.status, job.run_at, job.finished_at = "pending", self.clock(), None
            job.max_attempts = job.attempts + allowance
            queue = job.queue
        self.waker.notify(queue)
        found = self.get(job_id)
        assert found is not None
        return found

    def cancel(self, job_id: int, *, org_id: int | None = None, by: str = "an administrator") -> JobView:
        """Give up a job that has not started (or waits for its next attempt): it is dead, and says why."""
        with transaction(self.sessions) as session:
            job = self._owned(session, job_id, org_id)
            if job.status not in ("pending", "failed"):
                raise JobStateError(
                    f"job {job_id} is {job.status}; only a pending or failed job can be cancelled"
                )
            job.status, job.finished_at, job.last_error = "dead", self.clock(), f"cancelled by {by}"[:200]
        found = self.get(job_id)
        assert found is not None
        return found

    def stats(self, now: datetime | None = None) -> QueueStats:
        now = now or self.clock()
        with transaction(self.sessions) as session:
            counts = session.execute(
                select(Job.queue, Job.status, func.count()).group_by(Job.queue, Job.status)
            ).all()
            oldest = session.execute(
                select(Job.queue, func.min(Job.run_at))
                .where(Job.status.in_(("pending", "failed")), Job.run_at <= now)
                .group_by(Job.queue)
            ).all()
        return QueueStats(
            {(q, s): int(n) for q, s, n in counts},
            {q: max(0.0, (now - utc(at)).total_seconds()) for q, at in oldest},
        )

    @staticmethod
    def _owned(session: Session, job_id: int, org_id: int | None) -> Job:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or (org_id is not None and job.org_id != org_id):
            raise NotFound(f"There is no job {job_id}.")
        return job


def _insert(session: Session, values: dict[str, Any]) -> JobRef:
    key = values["idempotency_key"]
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = make(Job).values(values)
    if key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["idempotency_key"])
    new_id = session.execute(statement.returning(Job.id)).scalar()
    if new_id is not None:
        return JobRef(int(new_id), True)
    existing = session.scalar(select(Job.id).where(Job.idempotency_key == key))
    if existing is None:  # pragma: no cover - the conflicting row was purged between the two statements
        raise RuntimeError(f"job key {key!r} conflicted, then was not found")
    return JobRef(int(existing), False)


__all__ = ["STATUSES", "JobRef", "JobStateError", "JobView", "Jobs", "QueueStats", "Status"]
