"""Organisations, users and memberships. Keyword-only, never commit: the caller owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from belvedere.accounts.models import Invitation, Membership, Organisation, Project, User
from belvedere.accounts.roles import ROLES, Role
from belvedere.accounts.service import slugify
from belvedere.platform import errors


class Conflict(errors.Conflict, ValueError):
    """The change clashes with existing data (a taken email or slug, the last owner leaving…)."""


@dataclass(frozen=True, slots=True)
class OrgView:
    id: int
    name: str
    slug: str
    plan: str
    status: str
    expires_at: datetime | None

    @classmethod
    def of(cls, org: Organisation) -> OrgView:
        expires = org.expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return cls(org.id, org.name, org.slug, org.plan, org.status, expires)

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "slug": self.slug,
            "plan": self.plan,
            "status": self.status,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


# What the API and the forms take for an email address: something@somewhere, without spaces.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(session: Session, *, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(session: Session, *, email: str, password_hash: str, name: str = "") -> User:
    user = User(email=normalise_email(email), name=name, password_hash=password_hash)
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("An account with this email already exists; log in or reset the password.") from None
    return user


def unique_slug(session: Session, name: str) -> str:
    base = slugify(name)
    slug, n = base, 1
    while session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        n += 1
        slug = f"{base[:90]}-{n}"
    return slug


def create_organisation(
    session: Session, *, name: str, owner: User | None, plan: str, trial_days: int | None = None
) -> Organisation:
    org = Organisation(name=name, slug=unique_slug(session, name), plan=plan, status="active")
    if trial_days:
        org.status = "trial"
        org.expires_at = datetime.now(UTC) + timedelta(days=trial_days)
    session.add(org)
    session.flush()
    if owner is not None:
        session.add(Membership(organisation_id=org.id, user_id=owner.id, role="owner"))
        session.flush()
    return org


def membership(session: Session, *, organisation_id: int, user_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(Membership.organisation_id == organisation_id, Membership.user_id == user_id)
    )


def organisations_of(session: Session, *, user_id: int) -> list[tuple[OrgView, str]]:
    rows = session.execute(
        select(Organisation, Membership.role)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.user_id == user_id)
        .order_by(Organisation.id)
    ).all()
    return [(OrgView.of(org), role) for org, role in rows]


def members(session: Session, *, organisation_id: int) -> list[dict[str, object]]:
    rows = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == organisation_id)
        .order_by(User.id)
    ).all()
    return [
        {
            "user_id": u.id,
            "email": u.email,
            "name": u.name,
            "role": m.role,
            "joined_at": m.created_at.isoformat(),
        }
        for u, m in rows
    ]


def seats_used(session: Session, *, organisation_id: int) -> int:
    """Members plus pending invitations: both hold a seat against the plan's member limit."""
    count_members = session.scalar(
        select(func.count()).select_from(Membership).where(Membership.organisation_id == organisation_id)
    )
    pending = session.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(
            Invitation.organisation_id == organisation_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > datetime.now(UTC),
        )
    )
    return int(count_members or 0) + int(pending or 0)


def project_count(session: Session, *, organisation_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Project).where(Project.organisation_id == organisation_id)
        )
        or 0
    )


def owners(session: Session, *, organisation_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organisation_id == organisation_id, Membership.role == "owner")
        )
    )


def change_role(session: Session, *, organisation_id: int, user_id: int, role: Role) -> Membership:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    member = membership(session, organisation_id=organisation_id, user_id=user_id)
    if member is None:
        raise LookupError("no such member")
    if (
        member.role == "owner"
        and role != "owner"
        and len(owners(session, organisation_id=organisation_id)) == 1
    ):
        raise Conflict("The organisation needs an owner: transfer ownership first.")
    member.role = role
    session.flush()
    return member


def remove_member(session: Session, *, organisation_id: int, user_id: int) -> None:
    member = membership(session, organisation_id=organisation_id, user_id=user_id)
    if member is None:
        raise LookupError("no such member")
    if member.role == "owner" and len(owners(session, organisation_id=organisation_id)) == 1:
        raise Conflict("The last owner cannot leave: transfer ownership first.")
    session.delete(member)
    session.flush()
