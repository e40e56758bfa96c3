"""A finding of the insight feed, as written for a project, with what people did with it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from belvedere.platform.db import Base


class FeedItem(Base):
    """``fingerprint`` names what the finding is about (``anomaly:unique_users:2026-12-06``): one per
    project. ``evidence`` holds the query that reproduces it and the page that shows it."""

    __tablename__ = "feed_items"
    __table_args__ = (UniqueConstraint("project_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))
    direction: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(String(2000))
    recommendation: Mapped[str] = mapped_column(String(1000))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    day: Mapped[date] = mapped_column(Date)  # the last complete day the run read
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pinned: Mapped[bool] = mapped_column(default=False)
    dismissed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    dismissed_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
