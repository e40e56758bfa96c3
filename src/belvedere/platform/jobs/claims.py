"""The statements that move a job through its states. Each runs inside a transaction its caller owns.

Claiming is one ``UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING``: on SQLite it is the first statement of
its transaction, so writers queue on the database lock (WAL and ``busy_timeout``) rather than fail; on
PostgreSQL the inner select takes ``FOR UPDATE SKIP LOCKED``, so that workers claim different rows. A claim
carries a fresh lease token; every later write about the job names it, so a worker that lost its lease (it
stalled past it and the job was given to another) can no longer finish or fail the job.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.orm import Session

from belvedere.platform.jobs.models import Job, JobAttempt, JobEffect

ERROR_CHARS = 4000
LOST = "lease expired: the worker running it stopped or stalled"


def utc(value: datetime) -> datetime:
    """SQLite gives back naive datetimes: they are UTC, as everything written here."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    name: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    key: str | None
    token: str
    timeout: timedelta
    org_id: int | None
    project_id: int | None


def claim(
    session: Session, queues: Sequence[str], limit: int, *, worker: str, lease: timedelta, now: datetime
) -> list[Claim]:
    if limit <= 0:
        return []
    token = secrets.token_hex(16)
    due = (
        select(Job.id)
        .where(Job.queue.in_(queues), Job.status.in_(("pending", "failed")), Job.run_at <= now)
        .order_by(Job.priority, Job.run_at, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(Job)
        .where(Job.id.in_(due.scalar_subquery()))
        .values(
            status="running",
            attempts=Job.attempts + 1,
            lease_token=token,
            locked_by=worker,
            lease_expires_at=now + lease,
            started_at=now,
        )
        .returning(
            Job.id,
            Job.name,
            Job.payload,
            Job.attempts,
            Job.max_attempts,
            Job.idempotency_key,
            Job.timeout_seconds,
            Job.org_id,
            Job.project_id,
        )
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(statement).all()
    claims = [
        Claim(
            r.id,
            r.name,
            r.payload,
            r.attempts,
            r.max_attempts,
            r.idempotency_key,
            token,
            timedelta(seconds=r.timeout_seconds),
            r.org_id,
            r.project_id,
        )
        for r in rows
    ]
    if claims:
        session.execute(
            insert(JobAttempt),
            [{"job_id": c.id, "attempt": c.attempt, "worker": worker, "started_at": now} for c in claims],
        )
    return sorted(claims, key=lambda c: c.id)


def _fenced(claim: Claim) -> tuple[Any, ...]:
    return (Job.id == claim.id, Job.lease_token == claim.token, Job.status == "running")


def extend(session: Session, claims: Sequence[Claim], until: datetime) -> int:
    """Keep the leases of jobs still running here; returns how many were still held."""
    held = 0
    for c in claims:
        result = session.execute(
            update(Job)
            .where(*_fenced(c))
            .values(lease_expires_at=until)
            .execution_options(synchronize_session=False)
        )
        held += result.rowcount  # type: ignore[attr-defined]
    return held


def _close_attempt(session: Session, claim: Claim, outcome: str, now: datetime, error: str | None) -> None:
    session.execute(
        update(JobAttempt)
        .where(JobAttempt.job_id == claim.id, JobAttempt.attempt == claim.attempt)
        .values(outcome=outcome, finished_at=now, error=error)
        .execution_options(synchronize_session=False)
    )


def succeed(session: Session, claim: Claim, now: datetime) -> bool:
    """Mark the job done, in the transaction that holds the handler's own writes: if the lease was lost, say
    so, and the caller rolls everything back."""
    result = session.execute(
        update(Job)
        .where(*_fenced(claim))
        .values(status="succeeded", finished_at=now, lease_token=None, lease_expires_at=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    _close_attempt(session, claim, "succeeded", now, None)
    return True


def fail(
    session: Session, claim: Claim, error: str, *, retry_at: datetime | None, now: datetime
) -> str | None:
    """Record a failed attempt: ``failed`` with the next attempt at ``retry_at``, or ``dead`` when
    ``retry_at`` is None or the attempts are used up. Returns the new status, or None if the lease was
    lost."""
    error = error[:ERROR_CHARS]
    dead = retry_at is None or claim.attempt >= claim.max_attempts
    values: dict[str, Any] = {
        "status": "dead" if dead else "failed",
        "last_error": error,
        "lease_token": None,
        "lease_expires_at": None,
    }
    if dead:
        values["finished_at"] = now
    else:
        values["run_at"] = retry_at
    result = session.execute(
        update(Job).where(*_fenced(claim)).values(values).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    _close_attempt(session, claim, str(values["status"]), now, error)
    return str(values["status"])


def reap(session: Session, now: datetime) -> int:
    """Give back the jobs whose lease expired (their worker died or stalled): due again at once, or dead if
    that was their last attempt."""
    rows = session.execute(
        update(Job)
        .where(Job.status == "running", Job.lease_expires_at < now)
        .values(
            status=case((Job.attempts >= Job.max_attempts, "dead"), else_="failed"),
            run_at=now,
            finished_at=case((Job.attempts >= Job.max_attempts, now), else_=None),
            last_error=LOST,
            lease_token=None,
            lease_expires_at=None,
        )
        .returning(Job.id, Job.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    for row in rows:
        session.execute(
            update(JobAttempt)
            .where(
                JobAttempt.job_id == row.id, JobAttempt.attempt == row.attempts, JobAttempt.outcome.is_(None)
            )
            .values(outcome="lost", finished_at=now, error=LOST)
            .execution_options(synchronize_session=False)
        )
    return len(rows)


def purge(session: Session, before: datetime) -> int:
    """Forget succeeded jobs finished before ``before``, their attempts, and effects as old: their keys can
    be used again. Dead jobs stay until someone retries or cancels them."""
    old = select(Job.id).where(Job.status == "succeeded", Job.finished_at < before)
    session.execute(
        delete(JobAttempt)
        .where(JobAttempt.job_id.in_(old.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        delete(Job)
        .where(Job.status == "succeeded", Job.finished_at < before)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(JobEffect).where(JobEffect.done_at < before).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def now_utc() -> datetime:
    return datetime.now(UTC)
