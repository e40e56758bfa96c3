"""Organisation management: the organisation itself, members and roles, invitations, personal API keys, the
security log and plan usage. Every route names its least role through ``Access``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from belvedere.accounts import invitations, organisations, personal_keys
from belvedere.accounts.models import Organisation, User
from belvedere.accounts.organisations import Conflict, OrgView
from belvedere.accounts.roles import at_least
from belvedere.auth import securitylog
from belvedere.platform.db import transaction
from belvedere.platform.mail import outbox as mail_outbox
from belvedere.web.access import Admin, Grant, Member, Owner, RuntimeDep, SignedIn, Viewer, audit
from belvedere.web.errors import ApiError
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
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Literal["admin", "member", "viewer"] = "member"


class KeyBody(BaseModel):
    label: str = Field("", max_length=200)
    scopes: list[Literal["read", "write", "admin"]] = Field(min_length=1, max_length=3)


def _conflict(exc: Conflict) -> ApiError:
    return ApiError(409, "conflict", str(exc))


@router.post("/orgs", status_code=201, summary="Create another organisation, owned by the caller")
def create_org(body: OrgBody, caller: SignedIn, runtime: RuntimeDep) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
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
def update_org(body: OrgBody, grant: Admin, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        org = session.get(Organisation, grant.org.id)
        assert org is not None
        org.name = body.name
        audit(session, grant, request, "organisation_updated")
        return OrgView.of(org).as_json()


@router.delete(ORG, status_code=204, summary="Delete the organisation, its projects and their events")
def delete_org(grant: Owner, runtime: RuntimeDep) -> None:
    with transaction(runtime.sessions) as session:
        org = session.get(Organisation, grant.org.id)
        project_ids = [p.id for p in org.projects] if org else []
        session.delete(org)
    runtime.projects.forget()  # its write keys stop working now, in every process
    for project_id in project_ids:
        runtime.store.delete_project(project_id=project_id)


@router.post(ORG + "/transfer", summary="Make another member the owner; the caller becomes an admin")
def transfer(body: TransferBody, grant: Owner, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        if organisations.membership(session, organisation_id=grant.org.id, user_id=body.user_id) is None:
            raise ApiError(404, "not_found", "No such member.")
        organisations.change_role(session, organisation_id=grant.org.id, user_id=body.user_id, role="owner")
        assert grant.user_id is not None
        organisations.change_role(session, organisation_id=grant.org.id, user_id=grant.user_id, role="admin")
        audit(session, grant, request, "ownership_transferred", to_user_id=body.user_id)
        return {"members": organisations.members(session, organisation_id=grant.org.id)}


# ------------------------------------------------------------------------------------------------ members


@router.get(ORG + "/members", summary="Members and their roles")
def list_members(grant: Viewer, runtime: RuntimeDep) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        return {"results": organisations.members(session, organisation_id=grant.org.id)}


def _touches_owner(grant: Grant, current: str, new: str | None) -> None:
    if (current == "owner" or new == "owner") and grant.role != "owner":
        raise ApiError(403, "forbidden", "Only an owner can grant, change or remove the owner role.")


@router.patch(ORG + "/members/{user_id}", summary="Change a member's role")
def change_role(
    user_id: PathId, body: RoleBody, grant: Admin, request: Request, runtime: RuntimeDep
) -> dict[str, Any]:
    try:
        with transaction(runtime.sessions) as session:
            member = organisations.membership(session, organisation_id=grant.org.id, user_id=user_id)
            if member is None:
                raise ApiError(404, "not_found", "No such member.")
            old = member.role
            _touches_owner(grant, old, body.role)
            organisations.change_role(session, organisation_id=grant.org.id, user_id=user_id, role=body.role)
            audit(session, grant, request, "role_changed", user_id=user_id, old=old, new=body.role)
            return {"user_id": user_id, "role": body.role}
    except Conflict as exc:
        raise _conflict(exc) from None


@router.delete(ORG + "/members/{user_id}", status_code=204, summary="Remove a member")
def remove_member(user_id: PathId, grant: Admin, request: Request, runtime: RuntimeDep) -> None:
    try:
        with transaction(runtime.sessions) as session:
            member = organisations.membership(session, organisation_id=grant.org.id, user_id=user_id)
            if member is None:
                raise ApiError(404, "not_found", "No such member.")
            _touches_owner(grant, member.role, None)
            organisations.remove_member(session, organisation_id=grant.org.id, user_id=user_id)
            audit(session, grant, request, "member_removed", user_id=user_id)
    except Conflict as exc:
        raise _conflict(exc) from None


# ------------------------------------------------------------------------------------------------ invitations


@router.post(ORG + "/invitations", status_code=201, summary="Invite someone by email")
def invite(body: InviteBody, grant: Admin, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    settings = runtime.settings
    try:
        with transaction(runtime.sessions) as session:
            used = organisations.seats_used(session, organisation_id=grant.org.id)
            runtime.plans.check_limit(grant.org.plan, "members", used)
            assert grant.user_id is not None
            inv, token = invitations.invite(
                session,
                organisation_id=grant.org.id,
                email=body.email,
                role=body.role,
                invited_by=grant.user_id,
                days=settings.auth.invitation_days,
            )
            runtime.mailer.send(
                session,
                organisation_id=grant.org.id,
                to=inv.email,
                subject=f"You are invited to {grant.org.name} on Belvedere",
                body=f"You are invited to join {grant.org.name} as {inv.role}.\n"
                f"Accept within {settings.auth.invitation_days} days:\n"
                f"{settings.base_url}/invitations/accept?token={token}\n",
            )
            audit(session, grant, request, "invitation_sent", email=inv.email, role=inv.role)
            return invitations.view(inv)
    except Conflict as exc:
        raise _conflict(exc) from None


@router.get(ORG + "/invitations", summary="Invitations, pending and past")
def list_invitations(grant: Admin, runtime: RuntimeDep) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        return {"results": invitations.list_invitations(session, organisation_id=grant.org.id)}


@router.delete(ORG + "/invitations/{invitation_id}", status_code=204, summary="Revoke an invitation")
def revoke_invitation(invitation_id: PathId, grant: Admin, request: Request, runtime: RuntimeDep) -> None:
    with transaction(runtime.sessions) as session:
        inv = invitations.get_invitation(session, organisation_id=grant.org.id, invitation_id=invitation_id)
        if inv is None:
            raise ApiError(404, "not_found", "No such invitation.")
        invitations.revoke(session, invitation=inv)
        audit(session, grant, request, "invitation_revoked", email=inv.email)


# ------------------------------------------------------------------------------------------------ API keys


@router.post(ORG + "/api-keys", status_code=201, summary="Create a personal API key (shown once)")
def create_key(body: KeyBody, grant: Member, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    runtime.plans.require_feature(grant.org.plan, "api")
    if grant.user_id is None:
        raise ApiError(403, "forbidden", "Personal keys belong to users.")
    if "admin" in body.scopes and not at_least(grant.role, "admin"):
        raise ApiError(403, "forbidden", "The admin scope needs the admin role.")
    with transaction(runtime.sessions) as session:
        view, secret = personal_keys.create_key(
            session, organisation_id=grant.org.id, user_id=grant.user_id, label=body.label, scopes=body.scopes
        )
        audit(session, grant, request, "key_created", key_id=view["id"], scopes=" ".join(body.scopes))
    return {**view, "key": secret}


@router.get(ORG + "/api-keys", summary="Personal API keys: your own, or everyone's for admins")
def list_keys(grant: Member, runtime: RuntimeDep) -> dict[str, Any]:
    mine_only = None if at_least(grant.role, "admin") else grant.user_id
    with transaction(runtime.sessions) as session:
        return {"results": personal_keys.list_keys(session, organisation_id=grant.org.id, user_id=mine_only)}


@router.delete(ORG + "/api-keys/{key_id}", status_code=204, summary="Revoke a personal API key")
def revoke_key(key_id: PathId, grant: Member, request: Request, runtime: RuntimeDep) -> None:
    with transaction(runtime.sessions) as session:
        key = personal_keys.get_key(session, organisation_id=grant.org.id, key_id=key_id)
        if key is None or (key.user_id != grant.user_id and not at_least(grant.role, "admin")):
            raise ApiError(404, "not_found", "No such key.")
        personal_keys.revoke_key(session, key=key)
        audit(session, grant, request, "key_revoked", key_id=key_id)


# ------------------------------------------------------------------------------------------------ log, usage


@router.get(
    ORG + "/security-log", summary="The security log (JSON, or CSV with format=csv)", response_model=None
)
def security_log(
    grant: Admin,
    runtime: RuntimeDep,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    format: Literal["json", "csv"] = "json",
) -> dict[str, Any] | PlainTextResponse:
    with transaction(runtime.sessions) as session:
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
def usage(grant: Viewer, runtime: RuntimeDep) -> dict[str, Any]:
    plan = runtime.plans.get(grant.org.plan)
    with transaction(runtime.sessions) as session:
        used = {
            "projects": organisations.project_count(session, organisation_id=grant.org.id),
            "members": organisations.seats_used(session, organisation_id=grant.org.id),
        }
    used["events_this_month"] = runtime.usage.used(grant.org.id)
    return {"plan": grant.org.plan, "status": grant.org.status, "limits": plan.model_dump(), "used": used}


@router.get(ORG + "/outbox", summary="Emails sent (or kept, without SMTP) on behalf of the organisation")
def outbox(
    grant: Admin, runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        return {"results": mail_outbox(session, organisation_id=grant.org.id, limit=limit)}
