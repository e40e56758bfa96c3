"""The organisation's people, as use cases: members and roles, ownership, invitations, personal API keys,
and what the plan allows. Tenant-first and keyword-only, each takes the caller's ``Grant`` (which the web
adapter has checked: the least role of the route) and the request's origin for the security log; each
raises ``platform.errors`` kinds and never commits. The JSON API and the settings pages call these same
functions."""

from __future__ import annotations

import re
from functools import partial
from typing import Any, Protocol

from sqlalchemy.orm import Session

from belvedere.accounts import invitations, organisations, personal_keys
from belvedere.accounts.grants import Grant, ProjectGrant, audit
from belvedere.accounts.models import Membership, Organisation
from belvedere.accounts.plans import Plans
from belvedere.accounts.projects import EventStore, KeyCache
from belvedere.accounts.roles import Role, at_least
from belvedere.accounts.service import project_info
from belvedere.auth.securitylog import Origin
from belvedere.config import Settings
from belvedere.platform.db import after_commit
from belvedere.platform.errors import Forbidden, Invalid, NotFound
from belvedere.platform.mail import Mailer

EMAIL = re.compile(organisations.EMAIL_PATTERN)


class UsageMeter(Protocol):
    def used(self, organisation_id: int) -> int: ...


def rename_organisation(session: Session, grant: Grant, *, name: str, where: Origin) -> dict[str, Any]:
    org = _organisation(session, grant)
    org.name = name
    audit(session, grant, where, "organisation_updated")
    return organisations.OrgView.of(org).as_json()


def delete_organisation(session: Session, grant: Grant, *, keys: KeyCache, store: EventStore) -> None:
    """The organisation with its projects and, once that has committed, their write keys (in every
    process) and their events."""
    org = _organisation(session, grant)
    project_ids = [p.id for p in org.projects]
    session.delete(org)
    after_commit(session, keys.forget)
    for project_id in project_ids:
        after_commit(session, partial(store.delete_project, project_id=project_id))


def project_grants(session: Session, grant: Grant) -> list[ProjectGrant]:
    """The organisation's projects, each as a grant with the caller's role: what a page that asks about every
    project of the organisation (its figures this month) hands to the query desk."""
    org = _organisation(session, grant)
    return [
        ProjectGrant(org=grant.org, role=grant.role, user_id=grant.user_id, project=project_info(p))
        for p in sorted(org.projects, key=lambda p: p.id)
    ]


def _organisation(session: Session, grant: Grant) -> Organisation:
    org = session.get(Organisation, grant.org.id)
    if org is None:  # deleted since the access check
        raise NotFound("No such organisation.")
    return org


def _check_may_touch_owner(grant: Grant, current: str, new: str | None) -> None:
    if (current == "owner" or new == "owner") and grant.role != "owner":
        raise Forbidden("Only an owner can grant, change or remove the owner role.")


def _member(session: Session, grant: Grant, user_id: int) -> Membership:
    member = organisations.membership(session, organisation_id=grant.org.id, user_id=user_id)
    if member is None:
        raise NotFound("No such member.")
    return member


# ------------------------------------------------------------------------------------------------ members


def list_members(session: Session, grant: Grant) -> list[dict[str, object]]:
    return organisations.members(session, organisation_id=grant.org.id)


def change_role(session: Session, grant: Grant, *, user_id: int, role: Role, where: Origin) -> dict[str, Any]:
    old = _member(session, grant, user_id).role
    _check_may_touch_owner(grant, old, role)
    organisations.change_role(session, organisation_id=grant.org.id, user_id=user_id, role=role)
    audit(session, grant, where, "role_changed", user_id=user_id, old=old, new=role)
    return {"user_id": user_id, "role": role}


def remove_member(session: Session, grant: Grant, *, user_id: int, where: Origin) -> None:
    _check_may_touch_owner(grant, _member(session, grant, user_id).role, None)
    organisations.remove_member(session, organisation_id=grant.org.id, user_id=user_id)
    audit(session, grant, where, "member_removed", user_id=user_id)


def transfer_ownership(
    session: Session, grant: Grant, *, user_id: int, where: Origin
) -> list[dict[str, object]]:
    """Make another member the owner; the caller (an owner) becomes an admin."""
    _member(session, grant, user_id)
    if grant.user_id is None:
        raise Forbidden("Ownership is transferred by its owner.")
    organisations.change_role(session, organisation_id=grant.org.id, user_id=user_id, role="owner")
    organisations.change_role(session, organisation_id=grant.org.id, user_id=grant.user_id, role="admin")
    audit(session, grant, where, "ownership_transferred", to_user_id=user_id)
    return organisations.members(session, organisation_id=grant.org.id)


# ------------------------------------------------------------------------------------------------ invitations


def invite(
    session: Session,
    grant: Grant,
    *,
    email: str,
    role: Role,
    where: Origin,
    plans: Plans,
    mailer: Mailer,
    settings: Settings,
) -> dict[str, object]:
    """Invite someone by email, within the plan's seats; the email carries the one-time link."""
    if not EMAIL.fullmatch(email.strip()):
        raise Invalid("Enter an email address, like ada@example.com.")
    used = organisations.seats_used(session, organisation_id=grant.org.id)
    plans.check_limit(grant.org.plan, "members", used)
    if grant.user_id is None:
        raise Forbidden("Invitations are sent by users.")
    days = settings.auth.invitation_days
    inv, token = invitations.invite(
        session,
        organisation_id=grant.org.id,
        email=email.strip(),
        role=role,
        invited_by=grant.user_id,
        days=days,
    )
    mailer.send(
        session,
        organisation_id=grant.org.id,
        to=inv.email,
        subject=f"You are invited to {grant.org.name} on Belvedere",
        body=f"You are invited to join {grant.org.name} as {inv.role}.\n"
        f"Accept within {days} days:\n{settings.base_url}/invitations/accept?token={token}\n",
    )
    audit(session, grant, where, "invitation_sent", email=inv.email, role=inv.role)
    return invitations.view(inv)


def list_invitations(session: Session, grant: Grant) -> list[dict[str, object]]:
    return invitations.list_invitations(session, organisation_id=grant.org.id)


def revoke_invitation(session: Session, grant: Grant, *, invitation_id: int, where: Origin) -> None:
    inv = invitations.get_invitation(session, organisation_id=grant.org.id, invitation_id=invitation_id)
    if inv is None:
        raise NotFound("No such invitation.")
    invitations.revoke(session, invitation=inv)
    audit(session, grant, where, "invitation_revoked", email=inv.email)


# ---------------------------------------------------------------------------------------------- personal keys


def create_key(
    session: Session, grant: Grant, *, label: str, scopes: list[str], where: Origin, plans: Plans
) -> dict[str, object]:
    """A personal API key for the caller, capped by its scopes: its description and, once, the key."""
    plans.require_feature(grant.org.plan, "api")
    if grant.user_id is None:
        raise Forbidden("Personal keys belong to users.")
    if "admin" in scopes and not at_least(grant.role, "admin"):
        raise Forbidden("The admin scope needs the admin role.")
    view, secret = personal_keys.create_key(
        session, organisation_id=grant.org.id, user_id=grant.user_id, label=label, scopes=scopes
    )
    audit(session, grant, where, "key_created", key_id=view["id"], scopes=" ".join(scopes))
    return {**view, "key": secret}


def list_keys(session: Session, grant: Grant) -> list[dict[str, object]]:
    """The caller's own keys; every member's for admins."""
    mine_only = None if at_least(grant.role, "admin") else grant.user_id
    return personal_keys.list_keys(session, organisation_id=grant.org.id, user_id=mine_only)


def revoke_key(session: Session, grant: Grant, *, key_id: int, where: Origin) -> None:
    key = personal_keys.get_key(session, organisation_id=grant.org.id, key_id=key_id)
    if key is None or (key.user_id != grant.user_id and not at_least(grant.role, "admin")):
        raise NotFound("No such key.")
    personal_keys.revoke_key(session, key=key)
    audit(session, grant, where, "key_revoked", key_id=key_id)


# ------------------------------------------------------------------------------------------------ plan usage


def usage(session: Session, grant: Grant, *, plans: Plans, meter: UsageMeter) -> dict[str, Any]:
    """The plan, its limits, and what the organisation uses of them."""
    used = {
        "projects": organisations.project_count(session, organisation_id=grant.org.id),
        "members": organisations.seats_used(session, organisation_id=grant.org.id),
        "events_this_month": meter.used(grant.org.id),
    }
    limits = plans.get(grant.org.plan).model_dump()
    return {"plan": grant.org.plan, "status": grant.org.status, "limits": limits, "used": used}
