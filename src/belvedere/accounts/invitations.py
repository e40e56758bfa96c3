"""Invitations: an admin invites an email address with a role; the link's token is single use and expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from belvedere.accounts.keys import hash_key
from belvedere.accounts.models import Invitation, Membership, User
from belvedere.accounts.organisations import Conflict, membership, normalise_email
from belvedere.accounts.roles import ROLES
from belvedere.auth import securitylog
from belvedere.auth.securitylog import Origin
from belvedere.auth.tokens import new_secret
from belvedere.platform.db import claim
from belvedere.platform.errors import BelvedereError
from belvedere.platform.jobs.bus import DomainEvent, publish


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def view(inv: Invitation) -> dict[str, object]:
    return {
        "id": inv.id,
        "email": inv.email,
        "role": inv.role,
        "expires_at": _aware(inv.expires_at).isoformat(),
        "accepted_at": inv.accepted_at.isoformat() if inv.accepted_at else None,
        "revoked_at": inv.revoked_at.isoformat() if inv.revoked_at else None,
    }


def invite(
    session: Session, *, organisation_id: int, email: str, role: str, invited_by: int, days: int
) -> tuple[Invitation, str]:
    if role not in ROLES or role == "owner":
        raise ValueError("role must be admin, member or viewer (ownership is transferred, not invited)")
    email = normalise_email(email)
    existing = session.scalar(select(User).where(User.email == email))
    if existing and membership(session, organisation_id=organisation_id, user_id=existing.id):
        raise Conflict("This person is already a member.")
    token = new_secret("bi_")
    inv = Invitation(
        organisation_id=organisation_id,
        email=email,
        role=role,
        token_hash=hash_key(token),
        invited_by=invited_by,
        expires_at=datetime.now(UTC) + timedelta(days=days),
    )
    session.add(inv)
    session.flush()
    return inv, token


def list_invitations(session: Session, *, organisation_id: int) -> list[dict[str, object]]:
    rows = session.scalars(
        select(Invitation).where(Invitation.organisation_id == organisation_id).order_by(Invitation.id)
    )
    return [view(i) for i in rows]


def get_invitation(session: Session, *, organisation_id: int, invitation_id: int) -> Invitation | None:
    inv = session.get(Invitation, invitation_id)
    return inv if inv is not None and inv.organisation_id == organisation_id else None


def revoke(session: Session, *, invitation: Invitation) -> None:
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = datetime.now(UTC)
        session.flush()


class InvalidInvitation(BelvedereError, LookupError):
    status, code = 400, "invalid_token"


def accept_invitation(session: Session, *, token: str, user: User, where: Origin) -> dict[str, object]:
    """The use case: join, and note it in the organisation's security log."""
    inv = accept(session, token=token, user=user)
    securitylog.record(
        session, [inv.organisation_id], "invitation_accepted", actor=user.id, where=where, role=inv.role
    )
    joined = {"user_id": user.id, "email": user.email, "role": inv.role}
    publish(session, DomainEvent("member.joined", joined, org_id=inv.organisation_id))
    return {"organisation_id": inv.organisation_id, "role": inv.role}


def accept(session: Session, *, token: str, user: User) -> Invitation:
    """Join the organisation with the invited role. The invitation must be live and addressed to the user's
    email, so a forwarded or leaked link is useless to anyone else."""
    inv = session.scalar(select(Invitation).where(Invitation.token_hash == hash_key(token)))
    now = datetime.now(UTC)
    if (
        inv is None
        or inv.revoked_at is not None
        or _aware(inv.expires_at) <= now
        or inv.email != user.email
        or not claim(session, Invitation.accepted_at, Invitation.id == inv.id, value=now)  # used once
    ):
        raise InvalidInvitation(
            "This invitation is not valid: it expired, was used or revoked, or is for another email."
        )
    if membership(session, organisation_id=inv.organisation_id, user_id=user.id) is None:
        session.add(Membership(organisation_id=inv.organisation_id, user_id=user.id, role=inv.role))
    session.flush()
    session.refresh(inv)
    return inv
