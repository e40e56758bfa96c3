"""What a job's handler gets: its payload, a session whose writes commit with the job's success, and a
ledger for effects outside the database that must happen once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from belvedere.platform.db import transaction
from belvedere.platform.jobs.claims import Claim
from belvedere.platform.jobs.models import JobEffect

if TYPE_CHECKING:
    from belvedere.platform.jobs.queue import JobRef, Jobs

T = TypeVar("T")


@dataclass
class JobContext:
    claim: Claim
    session: Session
    jobs: Jobs

    @property
    def id(self) -> int:
        return self.claim.id

    @property
    def attempt(self) -> int:
        return self.claim.attempt

    @property
    def payload(self) -> dict[str, Any]:
        return self.claim.payload

    @property
    def now(self) -> datetime:
        return self.jobs.clock()

    def need(self, kind: type[T]) -> T:
        """A part the composition root provided (``Jobs.provide``)."""
        return self.jobs.need(kind)

    def enqueue(self, name: str, payload: dict[str, Any] | None = None, **options: Any) -> JobRef:
        """Another job, enqueued only if this one succeeds."""
        return self.jobs.enqueue(name, payload, session=self.session, **options)

    def effect_done(self, key: str) -> dict[str, Any] | None:
        """What an earlier attempt recorded for ``key`` (``record_effect``), or None if it never did."""
        with transaction(self.jobs.sessions) as own:
            found = own.scalar(select(JobEffect.detail).where(JobEffect.key == key))
        return found

    def record_effect(self, key: str, detail: dict[str, Any]) -> None:
        """Note at once, in its own transaction, that the effect ``key`` happened: a later attempt (after a
        crash, or after this job fails for another reason) skips it. Not held with the job's session, so a
        SQLite write lock is never kept across network calls."""
        values = {"key": key, "job_id": self.id, "detail": detail, "done_at": self.jobs.clock()}
        with transaction(self.jobs.sessions) as own:
            make = postgresql.insert if own.get_bind().dialect.name == "postgresql" else sqlite.insert
            own.execute(make(JobEffect).values(values).on_conflict_do_nothing(index_elements=["key"]))
