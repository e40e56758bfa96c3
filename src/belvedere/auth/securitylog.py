"""The security log: who did what to an organisation's access, from where (IP as a keyed hash only)."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from belvedere.accounts.models import User
from belvedere.accounts.organisations import organisations_of
from belvedere.auth.models import SecurityEvent

KINDS = (
    "signup",
    "login",
    "login_failed",
    "login_throttled",
    "logout",
    "refresh_reuse",
    "password_changed",
    "password_reset",
    "email_verified",
    "key_created",
    "key_revoked",
    "role_changed",
    "member_removed",
    "ownership_transferred",
    "invitation_sent",
    "invitation_revoked",
    "invitation_accepted",
    "organisation_updated",
    "project_created",
    "project_deleted",
    "write_key_rotated",
    "dashboard_shared",
    "dashboard_unshared",
    "login_code_failed",
    "two_factor_enabled",
    "two_factor_disabled",
    "recovery_code_used",
    "recovery_codes_regenerated",
    "email_change_requested",
    "email_changed",
    "session_revoked",
)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request came from, as the log keeps it."""

    ip_hash: str | None = None
    user_agent: str | None = None


def origin(secret: str, ip: str | None, user_agent: str | None) -> Origin:
    digest = hmac.new(secret.encode(), ip.encode(), hashlib.sha256).hexdigest() if ip else None
    return Origin(digest, (user_agent or "")[:500] or None)


def organisations_of_user(session: Session, user_id: int) -> list[int]:
    """The organisations whose logs a change to this user's own access goes to: all of theirs."""
    return [org.id for org, _ in organisations_of(session, user_id=user_id)]


def record(
    session: Session,
    organisation_ids: Iterable[int],
    kind: str,
    *,
    actor: int | None,
    where: Origin,
    **detail: Any,
) -> None:
    assert kind in KINDS, kind
    for org_id in organisation_ids:
        session.add(
            SecurityEvent(
                organisation_id=org_id,
                kind=kind,
                actor_user_id=actor,
                ip_hash=where.ip_hash,
                user_agent=where.user_agent,
                detail=detail,
            )
        )


def entries(
    session: Session,
    *,
    organisation_id: int,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    query = (
        select(SecurityEvent, User.email)
        .outerjoin(User, User.id == SecurityEvent.actor_user_id)
        .where(SecurityEvent.organisation_id == organisation_id)
        .order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc())
        .limit(limit)
    )
    if kind:
        query = query.where(SecurityEvent.kind == kind)
    if since:
        query = query.where(SecurityEvent.created_at >= since)
    if until:
        query = query.where(SecurityEvent.created_at < until)
    return [
        {
            "id": e.id,
            "at": e.created_at.isoformat(),
            "kind": e.kind,
            "actor_user_id": e.actor_user_id,
            "actor_email": email,
            "ip_hash": e.ip_hash,
            "user_agent": e.user_agent,
            "detail": e.detail,
        }
        for e, email in session.execute(query)
    ]


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas: user agents and details are attacker-controlled text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    fields = ["id", "at", "kind", "actor_user_id", "actor_email", "ip_hash", "user_agent", "detail"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        detail = ";".join(f"{k}={v}" for k, v in sorted(row["detail"].items()))
        writer.writerow({k: _cell(v) for k, v in {**row, "detail": detail}.items()})
    return out.getvalue()
