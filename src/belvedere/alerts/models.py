"""Alert rules and the history of their states."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from belvedere.platform.db import Base


class AlertRule(Base):
    """A rule's definition (what it watches, when it breaches, whom it tells) and its current state.

    ``metric``, ``condition`` and ``escalation`` hold the checked JSON of ``alerts.rules``. The state part
    moves only through ``alerts.machine``: ``state`` is ``ok``, ``pending`` (breaching, fewer than
    ``pending_periods`` buckets so far), ``firing``, ``acknowledged`` or ``resolved``; ``last_bucket`` is the
    start of the newest bucket evaluated, so that each bucket is evaluated once."""

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    template: Mapped[str | None] = mapped_column(String(50), nullable=True)
    metric: Mapped[dict[str, Any]] = mapped_column(JSON)
    interval: Mapped[str] = mapped_column(String(8))
    condition: Mapped[dict[str, Any]] = mapped_column(JSON)
    pending_periods: Mapped[int] = mapped_column(Integer, default=1)
    resolve_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    cooldown_minutes: Mapped[int] = mapped_column(Integer, default=0)
    channels: Mapped[list[int]] = mapped_column(JSON)
    escalation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    muted_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # State.
    state: Mapped[str] = mapped_column(String(16), default="ok")
    breaches: Mapped[int] = mapped_column(Integer, default=0)
    last_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    recent: Mapped[list[list[Any]] | None] = mapped_column(JSON, nullable=True)  # [[bucket start, value]]
    last_bucket: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_evaluated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    acknowledged_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AlertEvent(Base):
    """One line of a rule's history: a change of state (``ok`` → ``pending``, → ``firing``, …), a reminder
    while firing, an escalation, or an acknowledgement, with the reading that caused it."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # transition, reminder, escalation
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    compared: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    bucket_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    bucket_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[int | None] = mapped_column(Integer, nullable=True)
    muted: Mapped[bool] = mapped_column(default=False)
