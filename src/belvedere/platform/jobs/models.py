"""The tables of the job platform, in the metadata database: jobs and their attempts, schedules, and a ledger
of effects done once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from belvedere.platform.db import Base

# SQLite gives an auto-increment key only to a column typed exactly INTEGER.
BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class Job(Base):
    """One unit of background work. ``status``: ``pending`` (waiting for ``run_at``), ``running`` (claimed
    under ``lease_token`` until ``lease_expires_at``), ``failed`` (an attempt failed, the next one is due at
    ``run_at``), ``succeeded``, ``dead`` (gave up: attempts used up, a permanent error, or cancelled)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "queue", "status", "run_at"),
        Index("ix_jobs_lease", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    timeout_seconds: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    org_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    project_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class JobAttempt(Base):
    """One run of a job: who ran it, when, and how it ended (``outcome`` is empty while it runs;
    ``succeeded``, ``failed``, ``dead`` or ``lost`` when its worker's lease expired)."""

    __tablename__ = "job_attempts"

    job_id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Schedule(Base):
    """A recurring job, declared in code and kept here so that every worker agrees on its next tick: the
    worker that moves ``next_run_at`` on (compare-and-set) is the one that enqueues the tick's job."""

    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    job_name: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    cron: Mapped[str | None] = mapped_column(String(100), nullable=True)
    every_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    timezone: Mapped[str] = mapped_column(String(64))
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    enabled: Mapped[bool] = mapped_column(default=True)


class JobEffect(Base):
    """An effect outside the database that must happen once (a delivery): written right after it happened,
    read before it is tried again."""

    __tablename__ = "job_effects"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    job_id: Mapped[int] = mapped_column(BIG_ID)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
