"""Projects, as use cases: create within the plan's limit, read, change, rotate the write key, delete.
Tenant-first and keyword-only; they raise ``platform.errors`` kinds and never commit. What must follow a
change outside the database — every process forgetting the cached write keys, the event store dropping a
deleted project's events — runs after the commit (``platform.db.after_commit``)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from belvedere.accounts import organisations
from belvedere.accounts.grants import Grant, ProjectGrant, audit
from belvedere.accounts.keys import new_write_key
from belvedere.accounts.models import Membership, Organisation, Project
from belvedere.accounts.plans import Plans
from belvedere.accounts.service import CreatedProject, create_project_in, project_json, slugify
from belvedere.accounts.settings import ProjectSettings, SavedGoal, check_timezone
from belvedere.auth.securitylog import Origin
from belvedere.platform.db import after_commit
from belvedere.platform.errors import Conflict, Invalid, NotFound
from belvedere.platform.jobs.bus import DomainEvent, publish


class KeyCache(Protocol):
    def forget(self) -> None: ...


class EventStore(Protocol):
    def delete_project(self, *, project_id: int) -> Any: ...


def _check_timezone(name: str) -> str:
    try:
        return check_timezone(name)
    except ValueError as exc:
        raise Invalid(str(exc), details=[{"field": "body.timezone", "message": str(exc)}]) from None


def _project(session: Session, grant: ProjectGrant) -> Project:
    """The project the grant names (the adapter has checked the caller may act on it)."""
    project = session.get(Project, grant.project.id)
    if project is None:  # deleted since the access check
        raise NotFound("No such project.")
    return project


def list_projects(session: Session, grant: Grant) -> list[dict[str, Any]]:
    org = session.get(Organisation, grant.org.id)
    return [project_json(p) for p in sorted(org.projects, key=lambda p: p.id)] if org else []


def create_project(
    session: Session,
    grant: Grant,
    *,
    name: str,
    timezone: str,
    settings: ProjectSettings,
    where: Origin,
    plans: Plans,
) -> dict[str, Any]:
    """A new project of the organisation, if its plan has room: its keys, shown this once."""
    _check_timezone(timezone)
    plans.check_limit(
        grant.org.plan, "projects", organisations.project_count(session, organisation_id=grant.org.id)
    )
    created = create_project_in(
        session, organisation_id=grant.org.id, name=name, timezone=timezone, settings=settings
    )
    audit(session, grant, where, "project_created", project_id=created.project.id)
    return {
        "project_id": created.project.id,
        "name": created.project.name,
        "timezone": created.project.timezone,
        "write_key": created.write_key,
        "read_key": created.api_key,
        "api_key": created.api_key,  # the read key's former name, kept for the clients that read it
    }


def get_project(session: Session, grant: ProjectGrant) -> dict[str, Any]:
    return project_json(_project(session, grant))


def update_project(
    session: Session,
    grant: ProjectGrant,
    *,
    name: str | None,
    timezone: str | None,
    settings: ProjectSettings | None,
    keys: KeyCache,
) -> dict[str, Any]:
    """Change what is given; capture follows the new settings at once (its cache holds them by write key)."""
    project = _project(session, grant)
    if name is not None:
        if not name.strip():
            raise Invalid("Give the project a name.")
        project.name = name.strip()
    if timezone is not None:
        project.timezone = _check_timezone(timezone)
    if settings is not None:
        project.settings = settings.model_dump(exclude_none=True)
    after_commit(session, keys.forget)
    return project_json(project)


def add_goal(session: Session, grant: ProjectGrant, goal: SavedGoal, *, keys: KeyCache) -> None:
    """One more goal among the project's settings (checked with them: names unique, at most 20)."""
    project = _project(session, grant)
    current = ProjectSettings.parse(project.settings)
    changed = ProjectSettings.model_validate({**current.model_dump(), "goals": [*current.goals, goal]})
    update_project(session, grant, name=None, timezone=None, settings=changed, keys=keys)


def remove_goal(session: Session, grant: ProjectGrant, name: str, *, keys: KeyCache) -> None:
    project = _project(session, grant)
    current = ProjectSettings.parse(project.settings)
    kept = [g for g in current.goals if g.name != name]
    if len(kept) == len(current.goals):
        raise Invalid(f"No goal is named {name!r}.")
    update_project(
        session,
        grant,
        name=None,
        timezone=None,
        settings=current.model_copy(update={"goals": kept}),
        keys=keys,
    )


def rotate_write_key(
    session: Session, grant: ProjectGrant, *, where: Origin, keys: KeyCache
) -> dict[str, Any]:
    """A new public write key; the old one stops working in every process once this commits."""
    project = _project(session, grant)
    project.write_key = new_write_key()
    audit(session, grant, where, "write_key_rotated", project_id=project.id)
    rotated = {"project_id": project.id, "project": project.name, "by": grant.user_id}
    publish(session, DomainEvent("key.rotated", rotated, org_id=grant.org.id, project_id=project.id))
    after_commit(session, keys.forget)
    return project_json(project)


def delete_project(
    session: Session, grant: ProjectGrant, *, where: Origin, keys: KeyCache, store: EventStore
) -> None:
    """The project and, once that has committed, its write key and its events."""
    project = _project(session, grant)
    project_id = project.id
    session.delete(project)
    audit(session, grant, where, "project_deleted", project_id=project_id)
    after_commit(session, keys.forget)
    after_commit(session, lambda: store.delete_project(project_id=project_id))


# ------------------------------------------------------------------------------------------------ operators


def _member(session: Session, org: Organisation, user_id: int) -> bool:
    return organisations.membership(session, organisation_id=org.id, user_id=user_id) is not None


def organisation_named(session: Session, name: str) -> Organisation | None:
    """The organisation an operator names: by its slug, as ``belvedere project create --org`` always has."""
    return session.scalar(select(Organisation).where(Organisation.slug == slugify(name)))


def create_for_operator(
    session: Session,
    *,
    organisation: str,
    name: str,
    plans: Plans,
    timezone: str = "UTC",
    settings: ProjectSettings | None = None,
    owner_email: str | None = None,
    plan: str = "unlimited",
) -> tuple[CreatedProject, Organisation]:
    """`belvedere project create` (and the demo): a project in the organisation of this name, within its
    plan's project limit. A new organisation is made on ``plan``, owned by ``owner_email``'s account when
    given, so that someone can open the project in the web app."""
    owner = None
    if owner_email is not None:
        owner = organisations.find_user(session, email=owner_email)
        if owner is None:
            raise NotFound(f"No account uses {owner_email}: create it first with `belvedere user create`.")
    org = organisation_named(session, organisation)
    if org is None:
        org = organisations.create_organisation(session, name=organisation, owner=owner, plan=plan)
    elif owner is not None and not organisations.membership(
        session, organisation_id=org.id, user_id=owner.id
    ):
        raise Conflict(
            f"The organisation {org.name!r} exists already and {owner_email} is not in it: add them with "
            f"`belvedere user create --org {org.slug} --role owner` (a new account) or an invitation."
        )
    plans.check_limit(org.plan, "projects", organisations.project_count(session, organisation_id=org.id))
    created = create_project_in(
        session, organisation_id=org.id, name=name, timezone=_check_timezone(timezone), settings=settings
    )
    return created, org


def visible_project_ids(session: Session, user_id: int) -> list[int]:
    """The projects of every organisation the user is a member of."""
    statement = (
        select(Project.id)
        .join(Membership, Membership.organisation_id == Project.organisation_id)
        .where(Membership.user_id == user_id)
        .order_by(Project.id)
    )
    return list(session.scalars(statement))
