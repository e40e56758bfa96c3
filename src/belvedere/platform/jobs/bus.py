"""Belvedere's own domain events (an alert fired, a member joined, a key rotated, …): a publisher names what
happened, and does not know who listens. Each listener is a job, enqueued in the publisher's transaction
with the key ``event:<event id>:<listener>``: the event is heard once per listener if the publisher's change
commits, and never if it rolls back; a failing listener is retried on its own, with backoff, and never fails
the publisher nor the other listeners."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from belvedere.platform.jobs.context import JobContext
from belvedere.platform.jobs.queue import JobRef, Jobs
from belvedere.platform.jobs.registry import REGISTRY, Registry, RetryPolicy

EVENTS = (
    "alert.fired",
    "alert.resolved",
    "member.joined",
    "key.rotated",
    "export.finished",
)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    name: str
    payload: dict[str, Any]
    org_id: int | None = None
    project_id: int | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "payload": self.payload,
            "org_id": self.org_id,
            "project_id": self.project_id,
        }


Listener = Callable[[JobContext, DomainEvent], None]


class Bus:
    def __init__(self, registry: Registry = REGISTRY) -> None:
        self.registry = registry
        self.listeners: dict[str, list[str]] = {}  # event name → job names

    def listen(
        self, event: str, name: str, *, queue: str = "default", retry: RetryPolicy | None = None
    ) -> Callable[[Listener], Listener]:
        """Register ``name`` as a listener of ``event``: a job that gets the event."""
        if event not in EVENTS:
            raise ValueError(f"unknown domain event {event!r}: one of {', '.join(EVENTS)}")
        job_name = f"on:{event}:{name}"

        def register(listener: Listener) -> Listener:
            def handle(ctx: JobContext) -> None:
                raw = ctx.payload
                listener(
                    ctx, DomainEvent(raw["name"], raw["payload"], raw["org_id"], raw["project_id"], raw["id"])
                )

            self.registry.job(job_name, queue=queue, retry=retry, timeout=timedelta(minutes=5))(handle)
            if job_name not in self.listeners.setdefault(event, []):
                self.listeners[event].append(job_name)
            return listener

        return register

    def publish(self, session: Session, event: DomainEvent, jobs: Jobs | None = None) -> list[JobRef]:
        """One job per listener, in ``session``'s transaction; nobody listening is fine. Without ``jobs``
        (a use case that has no queue at hand) the jobs wake their workers at the next poll."""
        jobs = jobs or Jobs(sessionmaker(), self.registry)
        if event.name not in EVENTS:
            raise ValueError(f"unknown domain event {event.name!r}: one of {', '.join(EVENTS)}")
        return [
            jobs.enqueue(
                job_name,
                event.as_json(),
                key=f"event:{event.id}:{job_name}"[:200],
                org_id=event.org_id,
                project_id=event.project_id,
                session=session,
            )
            for job_name in self.listeners.get(event.name, [])
        ]


BUS = Bus()
listen = BUS.listen
publish = BUS.publish
