"""A saved cohort: its definition and where its computation stands (members are in the event store)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from belvedere.platform.db import Base


class Cohort(Base):
    """``definition`` holds the checked JSON of ``rules``. ``version`` grows with every change of the
    definition: a computation started for an older version does not write its members. ``status`` is
    ``pending`` (never computed, or changed since), ``ready`` or ``error`` (``error`` says why)."""

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    refresh_hours: Mapped[int] = mapped_column(Integer, default=24)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    previous_count: Mapped[int | None] = mapped_column(Integer, nullable=True)  # before the last computation
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    computed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
