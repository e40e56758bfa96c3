"""The feed of one project: findings written once each, listed pinned first then newest, pinned and
dismissed by people. Every lookup takes the project id: another project's item is not found."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from belvedere.insights.feed.finders import Finding
from belvedere.insights.feed.models import FeedItem

LIST_LIMIT = 200


def record(session: Session, *, project_id: int, day: date, found: list[Finding], now: datetime) -> int:
    """Write the findings not written before (by fingerprint); how many were new."""
    if not found:
        return 0
    prints = [f.fingerprint[:500] for f in found]
    known = set(
        session.scalars(
            select(FeedItem.fingerprint).where(
                FeedItem.project_id == project_id, FeedItem.fingerprint.in_(prints)
            )
        )
    )
    added = 0
    for finding in found:
        fingerprint = finding.fingerprint[:500]
        if fingerprint in known:
            continue
        known.add(fingerprint)
        session.add(
            FeedItem(
                project_id=project_id,
                fingerprint=fingerprint,
                kind=finding.kind,
                severity=finding.severity,
                direction=finding.direction,
                title=finding.title[:500],
                body=finding.body[:2000],
                recommendation=finding.recommendation,
                evidence=finding.evidence,
                day=day,
                created_at=now,
            )
        )
        added += 1
    session.flush()
    return added


def items(
    session: Session, *, project_id: int, dismissed: bool = False, since: date | None = None
) -> list[FeedItem]:
    query = select(FeedItem).where(FeedItem.project_id == project_id)
    query = query.where(FeedItem.dismissed_at.is_not(None) if dismissed else FeedItem.dismissed_at.is_(None))
    if since is not None:
        query = query.where(FeedItem.day >= since)
    severity = case({"high": 0, "medium": 1}, value=FeedItem.severity, else_=2)
    order = (FeedItem.pinned.desc(), FeedItem.day.desc(), severity, FeedItem.id)
    return list(session.scalars(query.order_by(*order).limit(LIST_LIMIT)))


def item(session: Session, *, project_id: int, item_id: int) -> FeedItem | None:
    found = session.get(FeedItem, item_id)
    return found if found is not None and found.project_id == project_id else None


def pin(found: FeedItem, pinned: bool) -> None:
    found.pinned = pinned


def dismiss(found: FeedItem, *, user_id: int | None, now: datetime | None = None) -> None:
    found.dismissed_at, found.dismissed_by, found.pinned = now or datetime.now(UTC), user_id, False


def restore(found: FeedItem) -> None:
    found.dismissed_at = found.dismissed_by = None


def as_json(found: FeedItem) -> dict[str, Any]:
    return {
        "id": found.id,
        "kind": found.kind,
        "severity": found.severity,
        "direction": found.direction,
        "title": found.title,
        "body": found.body,
        "recommendation": found.recommendation,
        "evidence": found.evidence,
        "day": found.day.isoformat(),
        "created_at": found.created_at.isoformat() if found.created_at else None,
        "pinned": found.pinned,
        "dismissed": found.dismissed_at is not None,
    }
