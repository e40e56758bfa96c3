"""Use cases for organisations and projects. Keyword-only, never commit: the caller owns the transaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from belvedere.accounts.keys import hash_key, new_api_key, new_write_key, note_use
from belvedere.accounts.models import ApiKey, Organisation, Project
from belvedere.accounts.settings import ProjectSettings, check_timezone


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    """What the ingest path needs to know about a project, detached from the ORM session."""

    id: int
    organisation_id: int
    name: str
    timezone: str
    settings: ProjectSettings
    plan: str = "unlimited"
    org_status: str = "active"
    org_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CreatedProject:
    project: ProjectInfo
    write_key: str
    api_key: str


def project_info(project: Project) -> ProjectInfo:
    org = project.organisation
    return ProjectInfo(
        id=project.id,
        organisation_id=project.organisation_id,
        name=project.name,
        timezone=project.timezone,
        settings=ProjectSettings.parse(project.settings),
        plan=org.plan,
        org_status=org.status,
        org_expires_at=org.expires_at,
    )


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:100] or "org"


def project_json(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "organisation_id": project.organisation_id,
        "name": project.name,
        "timezone": project.timezone,
        "write_key": project.write_key,
        "settings": ProjectSettings.parse(project.settings).model_dump(),
        "created_at": project.created_at.isoformat(),
    }


def create_project_in(
    session: Session,
    *,
    organisation_id: int,
    name: str,
    timezone: str = "UTC",
    settings: ProjectSettings | None = None,
) -> CreatedProject:
    check_timezone(timezone)
    project = Project(
        organisation_id=organisation_id,
        name=name,
        timezone=timezone,
        write_key=new_write_key(),
        settings=(settings or ProjectSettings()).model_dump(exclude_none=True),
    )
    session.add(project)
    session.flush()
    api_key = issue_api_key(session, project_id=project.id, label="default read key")
    return CreatedProject(project=project_info(project), write_key=project.write_key, api_key=api_key)


def find_project_by_write_key(session: Session, *, write_key: str) -> ProjectInfo | None:
    project = session.scalar(select(Project).where(Project.write_key == write_key))
    return project_info(project) if project else None


def site_domain(domain: str) -> str:
    """A site's domain as projects and trackers are compared by it: lower case, no ``www.``, no port."""
    text = domain.strip().lower().split(":")[0].rstrip(".")
    return text.removeprefix("www.")


def write_keys_by_domain(session: Session) -> dict[str, str | None]:
    """Each site domain some project lists in its ``domains`` setting, with that project's write key —
    None when several projects list it (a domain does not say which of them it means)."""
    found: dict[str, str | None] = {}
    for write_key, settings in session.execute(select(Project.write_key, Project.settings)):
        for listed in (settings or {}).get("domains") or []:
            if not isinstance(listed, str):
                continue
            domain = site_domain(listed)
            found[domain] = write_key if found.get(domain, write_key) == write_key else None
    return found


def find_project_by_api_key(session: Session, *, api_key: str) -> ProjectInfo | None:
    """The project a live read key belongs to; records its use."""
    key = session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(api_key), ApiKey.revoked_at.is_(None))
    )
    if key is None:
        return None
    note_use(key)
    project = session.get(Project, key.project_id)
    return project_info(project) if project else None


def get_project(session: Session, *, project_id: int) -> ProjectInfo | None:
    project = session.get(Project, project_id)
    return project_info(project) if project else None


def list_projects(session: Session) -> list[tuple[ProjectInfo, str, str]]:
    """Every project with its organisation name and (public) write key."""
    rows = session.execute(select(Project, Organisation.name).join(Organisation).order_by(Project.id)).all()
    return [(project_info(p), org_name, p.write_key) for p, org_name in rows]


def issue_api_key(session: Session, *, project_id: int, label: str) -> str:
    """A new read key for the project; the only time the key is visible is this return value."""
    api_key = new_api_key()
    session.add(
        ApiKey(
            project_id=project_id, label=label, prefix=api_key[:10], key_hash=hash_key(api_key), scopes="read"
        )
    )
    session.flush()
    return api_key


def find_project(session: Session, *, organisation: str, name: str) -> tuple[ProjectInfo, str] | None:
    """A project by organisation and project name, with its write key."""
    row = session.execute(
        select(Project)
        .join(Organisation)
        .where(Organisation.slug == slugify(organisation), Project.name == name)
    ).scalar_one_or_none()
    return (project_info(row), row.write_key) if row else None
