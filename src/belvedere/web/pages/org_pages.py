"""The organisation's settings page: its projects, plan usage, members and roles, invitations, personal API
keys; renaming it, and deleting it.

Each action is a thin form handler over the same use case the JSON API calls (``accounts.team``: same checks,
same security log), so the page and the API cannot drift apart; a refusal is shown on the page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from belvedere.accounts import team
from belvedere.accounts.grants import Grant, ProjectGrant
from belvedere.accounts.roles import at_least
from belvedere.auth.securitylog import Origin
from belvedere.platform.db import transaction
from belvedere.platform.errors import BelvedereError
from belvedere.query.kinds.stats import StatsResult
from belvedere.web.access import Admin, Member, Owner, RuntimeDep, Viewer, request_origin
from belvedere.web.ids import PathId
from belvedere.web.pages.asking import ask
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect

router = APIRouter(include_in_schema=False)
SETTINGS = "/app/orgs/{org_id}/settings"


def _settings(request: Request, runtime: Any, grant: Grant, status: int = 200, **extra: Any) -> Response:
    admin = at_least(grant.role, "admin")
    with transaction(runtime.sessions) as session:
        context: dict[str, Any] = {
            "usage": team.usage(session, grant, plans=runtime.plans, meter=runtime.usage),
            "members": team.list_members(session, grant),
            "invitations": team.list_invitations(session, grant) if admin else [],
            "keys": team.list_keys(session, grant) if at_least(grant.role, "member") else [],
        }
    context.update(is_admin=admin, is_owner=grant.role == "owner", me=grant.user_id)
    return page(request, "org_settings.html", status, **nav(runtime, grant), project=None, **context, **extra)


def _act(
    request: Request, runtime: Any, grant: Grant, action: Callable[[Session, Origin], Any], done: str
) -> Response:
    """Run a use case in one transaction; show the page again with a confirmation, or with the refusal and
    its status (HTMX swaps 4xx answers in too: see the htmx-config in base.html)."""
    try:
        with transaction(runtime.sessions) as session:
            result = action(session, request_origin(request))
    except BelvedereError as exc:
        return _settings(request, runtime, grant, exc.status, error=exc.message)
    extra = {"new_key": result["key"]} if isinstance(result, dict) and "key" in result else {}
    return _settings(request, runtime, grant, notice=done, **extra)


@router.get(SETTINGS)
def org_settings(grant: Viewer, request: Request, runtime: RuntimeDep) -> Response:
    return _settings(request, runtime, grant)


@router.post(SETTINGS + "/invitations")
def invite(
    grant: Admin,
    request: Request,
    runtime: RuntimeDep,
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[Literal["admin", "member", "viewer"], Form()] = "member",
) -> Response:
    return _act(
        request,
        runtime,
        grant,
        lambda session, where: team.invite(
            session,
            grant,
            email=email,
            role=role,
            where=where,
            plans=runtime.plans,
            mailer=runtime.mailer,
            settings=runtime.settings,
        ),
        f"Invitation sent to {email}.",
    )


@router.post(SETTINGS + "/invitations/{invitation_id}/revoke")
def revoke_invitation(invitation_id: PathId, grant: Admin, request: Request, runtime: RuntimeDep) -> Response:
    return _act(
        request,
        runtime,
        grant,
        lambda session, where: team.revoke_invitation(
            session, grant, invitation_id=invitation_id, where=where
        ),
        "Invitation revoked.",
    )


@router.post(SETTINGS + "/members/{user_id}/role")
def change_role(
    user_id: PathId,
    grant: Admin,
    request: Request,
    runtime: RuntimeDep,
    role: Annotated[Literal["owner", "admin", "member", "viewer"], Form()],
) -> Response:
    return _act(
        request,
        runtime,
        grant,
        lambda session, where: team.change_role(session, grant, user_id=user_id, role=role, where=where),
        "Role changed.",
    )


@router.post(SETTINGS + "/members/{user_id}/remove")
def remove_member(user_id: PathId, grant: Admin, request: Request, runtime: RuntimeDep) -> Response:
    return _act(
        request,
        runtime,
        grant,
        lambda session, where: team.remove_member(session, grant, user_id=user_id, where=where),
        "Member removed.",
    )


@router.post(SETTINGS + "/api-keys")
def create_key(
    grant: Member,
    request: Request,
    runtime: RuntimeDep,
    scope: Annotated[Literal["read", "write", "admin"], Form()] = "read",
    label: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    return _act(
        request,
        runtime,
        grant,
        lambda session, where: team.create_key(
            session, grant, label=label, scopes=[scope], where=where, plans=runtime.plans
        ),
        "Key created: copy it now, it is shown only once.",
    )


@router.post(SETTINGS + "/api-keys/{key_id}/revoke")
def revoke_key(key_id: PathId, grant: Member, request: Request, runtime: RuntimeDep) -> Response:
    return _act(
        request,
        runtime,
        grant,
        lambda session, where: team.revoke_key(session, grant, key_id=key_id, where=where),
        "Key revoked.",
    )


@router.get(SETTINGS + "/projects")
async def projects_this_month(grant: Viewer, request: Request, runtime: RuntimeDep) -> Response:
    """The organisation's projects with the events each has stored this month (from the event store, so
    imported events count too), loaded after the page."""

    def grants() -> list[ProjectGrant]:
        with transaction(runtime.sessions) as session:
            return team.project_grants(session, grant)

    projects = await run_in_threadpool(grants)
    month = {"kind": "stats", "date_from": "mtd", "compare": False}
    figures = await asyncio.gather(*(ask(runtime, p, month, StatsResult) for p in projects))
    rows = [(p.project, int(f.results["events"].value or 0)) for p, f in zip(projects, figures, strict=True)]
    return page(
        request, "_org_projects.html", org=grant.org, rows=rows, can_create=at_least(grant.role, "admin")
    )


@router.post(SETTINGS + "/rename")
def rename(
    grant: Admin,
    request: Request,
    runtime: RuntimeDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
) -> Response:
    if not name.strip():
        return _settings(request, runtime, grant, 422, error="Give the organisation a name.")
    try:
        with transaction(runtime.sessions) as session:
            team.rename_organisation(session, grant, name=name.strip(), where=request_origin(request))
    except BelvedereError as exc:
        return _settings(request, runtime, grant, exc.status, error=exc.message)
    return redirect(SETTINGS.format(org_id=grant.org.id), request)  # shown again under its new name


@router.post(SETTINGS + "/delete")
def delete(
    grant: Owner, request: Request, runtime: RuntimeDep, confirm: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Delete the organisation, its projects and their events, once its name is typed as confirmation."""
    if confirm.strip() != grant.org.name:
        message = f"Type the organisation's name, {grant.org.name}, to confirm its deletion."
        return _settings(request, runtime, grant, 422, error=message)
    with transaction(runtime.sessions) as session:
        team.delete_organisation(session, grant, keys=runtime.projects, store=runtime.store)
    return redirect("/app", request)
