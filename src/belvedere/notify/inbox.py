"""In-app notifications: what the web app's bell shows to everyone who can see the project."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from belvedere.notify.models import Notification, NotificationRead

KEEP = 200  # listed at most, newest first


def post(
    session: Session, *, project_id: int, rule_id: int | None, level: str, title: str, body: str, link: str
) -> None:
    session.add(
        Notification(
            project_id=project_id,
            rule_id=rule_id,
            level=level,
            title=title[:300],
            body=body,
            link=link[:500],
            created_at=datetime.now(UTC),
        )
    )


def _last_read(session: Session, user_id: int) -> int:
    return (
        session.scalar(select(NotificationRead.last_read_id).where(NotificationRead.user_id == user_id)) or 0
    )


def unread(session: Session, *, user_id: int, project_ids: Sequence[int]) -> int:
    if not project_ids:
        return 0
    seen = _last_read(session, user_id)
    statement = select(func.count()).where(Notification.project_id.in_(project_ids), Notification.id > seen)
    return int(session.scalar(statement) or 0)


def latest(
    session: Session, *, user_id: int, project_ids: Sequence[int], limit: int = 20
) -> list[dict[str, Any]]:
    if not project_ids:
        return []
    seen = _last_read(session, user_id)
    rows = session.scalars(
        select(Notification)
        .where(Notification.project_id.in_(project_ids))
        .order_by(Notification.id.desc())
        .limit(min(limit, KEEP))
    )
    return [
        {
            "id": n.id,
            "project_id": n.project_id,
            "rule_id": n.rule_id,
            "level": n.level,
            "title": n.title,
            "body": n.body,
            "link": n.link,
            "created_at": n.created_at.isoformat(),
            "unread": n.id > seen,
        }
        for n in rows
    ]


def mark_read(session: Session, *, user_id: int, up_to: int) -> None:
    mark = session.get(NotificationRead, user_id)
    if mark is None:
        session.add(NotificationRead(user_id=user_id, last_read_id=up_to))
    elif up_to > mark.last_read_id:
        mark.last_read_id = up_to
