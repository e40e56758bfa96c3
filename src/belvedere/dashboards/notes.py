"""Annotations: dated notes of a project, which its charts draw at their day."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from belvedere.dashboards.models import Annotation
from belvedere.platform.errors import Invalid, NotFound

MAX_PER_PROJECT = 1000


def notes_of(
    session: Session, *, project_id: int, first: date | None = None, last: date | None = None
) -> list[Annotation]:
    """The project's annotations, oldest first; with ``first``/``last``, those of those days (inclusive)."""
    stmt = select(Annotation).where(Annotation.project_id == project_id)
    if first is not None:
        stmt = stmt.where(Annotation.day >= first)
    if last is not None:
        stmt = stmt.where(Annotation.day <= last)
    return list(session.scalars(stmt.order_by(Annotation.day, Annotation.id)))


def annotate(session: Session, *, project_id: int, day: date, note: str, user_id: int | None) -> Annotation:
    text = note.strip()
    if not text:
        raise Invalid("an annotation needs a note", details=[{"field": "body.note", "message": "empty"}])
    count = session.scalar(
        select(func.count()).select_from(Annotation).where(Annotation.project_id == project_id)
    )
    if (count or 0) >= MAX_PER_PROJECT:
        raise Invalid(f"a project keeps at most {MAX_PER_PROJECT} annotations; delete old ones first")
    item = Annotation(project_id=project_id, day=day, note=text[:300], created_by=user_id)
    session.add(item)
    session.flush()
    return item


def remove(session: Session, *, project_id: int, annotation_id: int) -> None:
    item = session.get(Annotation, annotation_id)
    if item is None or item.project_id != project_id:
        raise NotFound("No such annotation in this project.")
    session.delete(item)


def as_json(item: Annotation) -> dict[str, Any]:
    return {
        "id": item.id,
        "day": item.day.isoformat(),
        "note": item.note,
        "created_at": item.created_at.isoformat(),
    }
