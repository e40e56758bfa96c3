"""Organisation management: the organisation itself, members and roles, invitations, personal API keys, the
security log and plan usage. Every route names its least role through ``Access``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from belvedere.accounts import organisations, team
from belvedere.accounts.models import User
from belvedere.accounts.organisations import OrgView
from belvedere.auth import securitylog
from belvedere.platform.mail import outbox as mail_outbox
from belvedere.web.access import (
    Admin,
    Member,
    Owner,
    RuntimeDep,
    SessionDep,
    SignedIn,
    Viewer,
    request_origin,
)
from belvedere.web.ids import Id, PathId

router = APIRouter(prefix="/api/v1", tags=["organisations"])
ORG = "/orgs/{org_id}"


class OrgBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class RoleBody(BaseModel):
    role: Literal["owner", "admin", "member", "viewer"]


class TransferBody(BaseModel):
    user_id: Id


class InviteBody(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=organisations.EMAIL_PATTERN)
    role: Literal["admin", "member", "viewer"] = "member"


class KeyBody(BaseModel):
    label: str = Field("", max_length=200)
    scopes: list[Literal["read", "write", "admin"]] = Field(min_length=1, max_length=3)


@router.post("/orgs", status_code=201, summary="Create another organisation, owned by the caller")
def create_org(body: OrgBody, caller: SignedIn, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    user = session.get(User, caller.user_id)
    org = organisations.create_organisation(
        session,
        name=body.name,
        owner=user,
        plan=runtime.settings.auth.signup_plan,
        trial_days=runtime.settings.auth.trial_days,
    )
    return OrgView.of(org).as_json()


@router.get(ORG, summary="The organisation")
def get_org(grant: Viewer) -> dict[str, Any]:
    return {**grant.org.as_json(), "role": grant.role}


@router.patch(ORG, summary="Rename the organisation")
def update_org(body: OrgBody, grant: Admin, request: Request, session: SessionDep) -> dict[str, Any]:
    return team.rename_organisation(session, grant, name=body.name, where=request_origin(request))


@router.delete(ORG, status_code=204, summary="Delete the organisation, its projects and their events")
def delete_org(grant: Owner, runtime: RuntimeDep, session: SessionDep) -> None:
    team.delete_organisation(session, grant, keys=runtime.projects, store=runtime.store)


@router.post(ORG + "/transfer", summary="Make another member the owner; the caller becomes an admin")
def transfer(body: TransferBody, grant: Owner, request: Request, session: SessionDep) -> dict[str, Any]:
    where = request_origin(request)
    return {"members": team.transfer_ownership(session, grant, user_id=body.user_id, where=where)}


# ------------------------------------------------------------------------------------------------ members


@router.get(ORG + "/members", summary="Members and their roles")
def list_members(grant: Viewer, session: SessionDep) -> dict[str, Any]:
    return {"results": team.list_members(session, grant)}


@router.patch(ORG + "/members/{user_id}", summary="Change a member's role")
def change_role(
    user_id: PathId, body: RoleBody, grant: Admin, request: Request, session: SessionDep
) -> dict[str, Any]:
    return team.change_role(session, grant, user_id=user_id, role=body.role, where=request_origin(request))


@router.delete(ORG + "/members/{user_id}", status_code=204, summary="Remove a member")
def remove_member(user_id: PathId, grant: Admin, request: Request, session: SessionDep) -> None:
    team.remove_member(session, grant, user_id=user_id, where=request_origin(request))


# ------------------------------------------------------------------------------------------------ invitations


@router.post(ORG + "/invitations", status_code=201, summary="Invite someone by email")
def invite(
    body: InviteBody, grant: Admin, request: Request, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    return team.invite(
        session,
        grant,
        email=body.email,
        role=body.role,
        where=request_origin(request),
        plans=runtime.plans,
        mailer=runtime.mailer,
        settings=runtime.settings,
    )


@router.get(ORG + "/invitations", summary="Invitations, pending and past")
def list_invitations(grant: Admin, session: SessionDep) -> dict[str, Any]:
    return {"results": team.list_invitations(session, grant)}


@router.delete(ORG + "/invitations/{invitation_id}", status_code=204, summary="Revoke an invitation")
def revoke_invitation(invitation_id: PathId, grant: Admin, request: Request, session: SessionDep) -> None:
    team.revoke_invitation(session, grant, invitation_id=invitation_id, where=request_origin(request))


# ------------------------------------------------------------------------------------------------ API keys


@router.post(ORG + "/api-keys", status_code=201, summary="Create a personal API key (shown once)")
def create_key(
    body: KeyBody, grant: Member, request: Request, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    return team.create_key(
        session,
        grant,
        label=body.label,
        scopes=list(body.scopes),
        where=request_origin(request),
        plans=runtime.plans,
    )


@router.get(ORG + "/api-keys", summary="Personal API keys: your own, or everyone's for admins")
def list_keys(grant: Member, session: SessionDep) -> dict[str, Any]:
    return {"results": team.list_keys(session, grant)}


@router.delete(ORG + "/api-keys/{key_id}", status_code=204, summary="Revoke a personal API key")
def revoke_key(key_id: PathId, grant: Member, request: Request, session: SessionDep) -> None:
    team.revoke_key(session, grant, key_id=key_id, where=request_origin(request))


# ------------------------------------------------------------------------------------------------ log, usage


@router.get(
    ORG + "/security-log", summary="The security log (JSON, or CSV with format=csv)", response_model=None
)
def security_log(
    grant: Admin,
    session: SessionDep,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    format: Literal["json", "csv"] = "json",
) -> dict[str, Any] | PlainTextResponse:
    rows = securitylog.entries(
        session, organisation_id=grant.org.id, kind=kind, since=since, until=until, limit=limit
    )
    if format == "csv":
        return PlainTextResponse(
            securitylog.as_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="security-log-{grant.org.slug}.csv"'},
        )
    return {"results": rows}


@router.get(ORG + "/usage", summary="The plan, its limits and what is used")
def usage(grant: Viewer, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    return team.usage(session, grant, plans=runtime.plans, meter=runtime.usage)


@router.get(ORG + "/outbox", summary="Emails sent (or kept, without SMTP) on behalf of the organisation")
def outbox(
    grant: Admin, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    return {"results": mail_outbox(session, organisation_id=grant.org.id, limit=limit)}
