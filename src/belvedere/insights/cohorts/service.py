"""Saved cohorts of one project: create, change, delete, compute. Every lookup takes the project id, so a
cohort of another project is simply not found. Every change that alters who is in a cohort queues its
computation (``jobs``) in the same transaction, so a saved cohort is never left without one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from belvedere.insights.cohorts.models import Cohort
from belvedere.insights.cohorts.rules import CohortDefinition, Definition
from belvedere.platform.jobs import Jobs
from belvedere.query.fields import Filter

COMPUTE = "cohorts.compute"
MAX_COHORTS = 200  # per project
DEFAULT_REFRESH_HOURS = 24


class CohortRefused(ValueError):
    """A change the rules do not allow (too many cohorts, a bad definition); the message says why."""


def parse_definition(raw: object) -> Definition:
    """A definition checked (pydantic ``ValidationError`` otherwise)."""
    return CohortDefinition.model_validate({"definition": raw}).definition


def _stored(definition: Definition) -> dict[str, Any]:
    return definition.model_dump(mode="json", exclude_defaults=True) | {"type": definition.type}


def definition_of(cohort: Cohort) -> Definition:
    return parse_definition(cohort.definition)


def cohorts(session: Session, *, project_id: int) -> list[Cohort]:
    return list(session.scalars(select(Cohort).where(Cohort.project_id == project_id).order_by(Cohort.id)))


def cohort(session: Session, *, project_id: int, cohort_id: int) -> Cohort | None:
    found = session.get(Cohort, cohort_id)
    return found if found is not None and found.project_id == project_id else None


def missing_ids(session: Session, *, project_id: int, ids: list[int]) -> list[int]:
    """Those of ``ids`` that are no cohort of the project."""
    if not ids:
        return []
    known = set(
        session.scalars(select(Cohort.id).where(Cohort.project_id == project_id, Cohort.id.in_(set(ids))))
    )
    return sorted(set(ids) - known)


def referenced(spec: BaseModel) -> set[int]:
    """The cohort ids a query names: its ``cohort`` filters, wherever they are, and a trends breakdown."""
    found: set[int] = set(getattr(spec, "breakdown_cohorts", None) or [])

    def walk(value: object) -> None:
        if isinstance(value, Filter):
            found.update(value.cohort_ids())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(spec)
    return found


def unknown_cohorts(session: Session, *, project_id: int, spec: BaseModel) -> str | None:
    """Why a query cannot be answered as asked: it names cohorts the project does not have (None if not)."""
    missing = missing_ids(session, project_id=project_id, ids=sorted(referenced(spec)))
    if not missing:
        return None
    named = ", ".join(str(i) for i in missing)
    return (
        f"no cohort {named} in this project (deleted, or another project's):"
        f" GET /api/v1/projects/{project_id}/cohorts lists them"
    )


def create(
    session: Session,
    jobs: Jobs,
    *,
    project_id: int,
    name: str,
    definition: Definition,
    description: str = "",
    refresh_hours: int = DEFAULT_REFRESH_HOURS,
    user_id: int | None = None,
    now: datetime | None = None,
) -> Cohort:
    existing = session.scalar(select(func.count()).select_from(Cohort).where(Cohort.project_id == project_id))
    if (existing or 0) >= MAX_COHORTS:
        raise CohortRefused(f"a project may have {MAX_COHORTS} cohorts: delete some first")
    at = now or datetime.now(UTC)
    item = Cohort(
        project_id=project_id,
        name=name,
        description=description,
        definition=_stored(definition),
        refresh_hours=refresh_hours,
        version=1,
        status="pending",
        created_by=user_id,
        created_at=at,
        updated_at=at,
    )
    session.add(item)
    session.flush()
    queue_computation(session, jobs, item)
    return item


def update(
    session: Session,
    jobs: Jobs,
    item: Cohort,
    *,
    name: str | None = None,
    description: str | None = None,
    definition: Definition | None = None,
    refresh_hours: int | None = None,
    now: datetime | None = None,
) -> Cohort:
    if name is not None:
        item.name = name
    if description is not None:
        item.description = description
    if refresh_hours is not None:
        item.refresh_hours = refresh_hours
    if definition is not None and _stored(definition) != item.definition:
        item.definition = _stored(definition)
        item.version += 1
        item.status, item.error, item.previous_count = "pending", None, None
        queue_computation(session, jobs, item)
    item.updated_at = now or datetime.now(UTC)
    session.flush()
    return item


def delete(session: Session, jobs: Jobs, item: Cohort) -> None:
    """The row goes now; its members go with the computation queued here (it finds no cohort)."""
    project_id, cohort_id = item.project_id, item.id
    session.delete(item)
    session.flush()
    jobs.enqueue(
        COMPUTE,
        {"project_id": project_id, "cohort_id": cohort_id, "version": 0},
        project_id=project_id,
        session=session,
    )


def queue_computation(session: Session, jobs: Jobs, item: Cohort, *, key: str | None = None) -> None:
    jobs.enqueue(
        COMPUTE,
        {"project_id": item.project_id, "cohort_id": item.id, "version": item.version},
        key=key,
        project_id=item.project_id,
        session=session,
    )


def as_json(item: Cohort) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "description": item.description,
        "definition": item.definition,
        "refresh_hours": item.refresh_hours,
        "status": item.status,
        "count": item.count,
        "previous_count": item.previous_count,
        "error": item.error,
        "computed_at": _iso(item.computed_at),
        "created_at": _iso(item.created_at),
        "updated_at": _iso(item.updated_at),
    }


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).isoformat()
