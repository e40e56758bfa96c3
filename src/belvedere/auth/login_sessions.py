"""Login sessions: one record per refresh-token family, listed on the account page (created, last seen,
device) and revoked from there, one at a time or all but the current one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from ua_parser import parse

from belvedere.auth import securitylog
from belvedere.auth.models import LoginSession, RefreshToken
from belvedere.auth.securitylog import Origin
from belvedere.platform.errors import NotFound

# How stale "last seen" may get before a request writes it again: one write per session per few minutes,
# not one per request.
SEEN_EVERY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SessionView:
    id: int
    device: str
    created_at: datetime
    last_seen_at: datetime
    current: bool


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@lru_cache(maxsize=256)
def device(user_agent: str | None) -> str:
    """ "Firefox on Linux", "Chrome on iOS", or what can be said of an API client."""
    if not user_agent:
        return "Unknown device"
    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else "Other"
    system = result.os.family if result.os else "Other"
    if browser == "Other":
        return user_agent.split("/")[0][:40] or "Unknown device"
    return browser if system == "Other" else f"{browser} on {system}"


def open_session(
    session: Session, *, user_id: int, family: str, user_agent: str | None, expires_at: datetime
) -> None:
    session.add(LoginSession(user_id=user_id, family=family, user_agent=user_agent, expires_at=expires_at))


def extend(session: Session, *, family: str, expires_at: datetime) -> None:
    """A refresh: the session was seen now and lives as long as its new refresh token."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.family == family)
        .values(last_seen_at=datetime.now(UTC), expires_at=expires_at)
    )


def seen(session: Session, *, family: str, last_seen_at: datetime | None) -> None:
    """A request in the session: note it if the record is older than ``SEEN_EVERY``."""
    now = datetime.now(UTC)
    if last_seen_at is not None and now - _aware(last_seen_at) >= SEEN_EVERY:
        session.execute(update(LoginSession).where(LoginSession.family == family).values(last_seen_at=now))


def list_sessions(session: Session, *, user_id: int, current_family: str | None) -> list[SessionView]:
    """The account's open sessions: the caller's, then the others, the most recently seen first."""
    rows = session.scalars(
        select(LoginSession)
        .where(
            LoginSession.user_id == user_id,
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > datetime.now(UTC),
        )
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
    )
    views = [
        SessionView(
            id=row.id,
            device=device(row.user_agent),
            created_at=_aware(row.created_at),
            last_seen_at=_aware(row.last_seen_at),
            current=row.family == current_family,
        )
        for row in rows
    ]
    return sorted(views, key=lambda view: not view.current)  # the caller's own first, the rest as they were


def end_families(session: Session, families: list[str], now: datetime) -> None:
    """Revoke the refresh tokens of these sessions (their access tokens stop working with them)."""
    if not families:
        return
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family.in_(families), RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(LoginSession)
        .where(LoginSession.family.in_(families), LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def end_all(session: Session, *, user_id: int, now: datetime, keep_family: str | None = None) -> int:
    """Revoke every session of the account (but ``keep_family``); how many were open."""
    tokens = [RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)]
    records = [LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None)]
    if keep_family:
        tokens.append(RefreshToken.family != keep_family)
        records.append(LoginSession.family != keep_family)
    ended = session.scalar(
        select(func.count()).select_from(LoginSession).where(*records, LoginSession.expires_at > now)
    )
    session.execute(update(RefreshToken).where(*tokens).values(revoked_at=now))
    session.execute(update(LoginSession).where(*records).values(revoked_at=now))
    return int(ended or 0)


def revoke_session(
    session: Session, *, user_id: int, session_id: int, org_ids: list[int], where: Origin
) -> str:
    """End one of the account's sessions (its family is returned). Another account's session is "not
    found", like a missing one."""
    row = session.get(LoginSession, session_id)
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        raise NotFound("No such session: it may have ended already. Reload the page to see the open ones.")
    end_families(session, [row.family], datetime.now(UTC))
    securitylog.record(session, org_ids, "session_revoked", actor=user_id, where=where, session_id=session_id)
    return row.family


def revoke_other_sessions(
    session: Session, *, user_id: int, keep_family: str | None, org_ids: list[int], where: Origin
) -> int:
    """End every session of the account but ``keep_family`` (the caller's); how many were ended."""
    ended = end_all(session, user_id=user_id, now=datetime.now(UTC), keep_family=keep_family)
    if ended:
        securitylog.record(session, org_ids, "session_revoked", actor=user_id, where=where, sessions=ended)
    return ended
