"""The organisation's settings page: plan usage, members and roles, invitations, personal API keys.

Each action is a thin form handler over the JSON API's own handler (same checks, same security log), so the
page and the API cannot drift apart; a refusal is shown on the page instead of as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from belvedere.accounts.plans import PlanError
from belvedere.accounts.roles import at_least
from belvedere.web import api_orgs
from belvedere.web.access import Admin, Grant, Member, RuntimeDep, Viewer
from belvedere.web.errors import ApiError
from belvedere.web.ids import PathId
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page

router = APIRouter(include_in_schema=False)
SETTINGS = "/app/orgs/{org_id}/settings"


def _settings(request: Request, runtime: Any, grant: Grant, status: int = 200, **extra: Any) -> Response:
    admin = at_least(grant.role, "admin")
    context: dict[str, Any] = {
        "usage": api_orgs.usage(grant, runtime),
        "members": api_orgs.list_members(grant, runtime)["results"],
        "invitations": api_orgs.list_invitations(grant, runtime)["results"] if admin else [],
        "keys": api_orgs.list_keys(grant, runtime)["results"] if at_least(grant.role, "member") else [],
        "is_admin": admin,
        "is_owner": grant.role == "owner",
        "me": grant.user_id,
    }
    return page(request, "org_settings.html", status, **nav(runtime, grant), project=None, **context, **extra)


def _act(request: Request, runtime: Any, grant: Grant, action: Callable[[], Any], done: str) -> Response:
    """Run an API handler; show the page again with a confirmation, or with the refusal and its status
    (HTMX swaps 4xx answers in too: see the htmx-config in base.html)."""
    try:
        result = action()
    except ApiError as exc:
        return _settings(request, runtime, grant, exc.status, error=exc.message)
    except PlanError as exc:
        return _settings(request, runtime, grant, 403, error=exc.message)
    except ValidationError as exc:
        return _settings(request, runtime, grant, 422, error=exc.errors()[0]["msg"])
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
        lambda: api_orgs.invite(api_orgs.InviteBody(email=email, role=role), grant, request, runtime),
        f"Invitation sent to {email}.",
    )


@router.post(SETTINGS + "/invitations/{invitation_id}/revoke")
def revoke_invitation(invitation_id: PathId, grant: Admin, request: Request, runtime: RuntimeDep) -> Response:
    return _act(
        request,
        runtime,
        grant,
        lambda: api_orgs.revoke_invitation(invitation_id, grant, request, runtime),
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
        lambda: api_orgs.change_role(user_id, api_orgs.RoleBody(role=role), grant, request, runtime),
        "Role changed.",
    )


@router.post(SETTINGS + "/members/{user_id}/remove")
def remove_member(user_id: PathId, grant: Admin, request: Request, runtime: RuntimeDep) -> Response:
    return _act(
        request,
        runtime,
        grant,
        lambda: api_orgs.remove_member(user_id, grant, request, runtime),
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
    body = api_orgs.KeyBody(label=label, scopes=[scope])
    return _act(
        request,
        runtime,
        grant,
        lambda: api_orgs.create_key(body, grant, request, runtime),
        "Key created: copy it now, it is shown only once.",
    )


@router.post(SETTINGS + "/api-keys/{key_id}/revoke")
def revoke_key(key_id: PathId, grant: Member, request: Request, runtime: RuntimeDep) -> Response:
    return _act(
        request, runtime, grant, lambda: api_orgs.revoke_key(key_id, grant, request, runtime), "Key revoked."
    )
