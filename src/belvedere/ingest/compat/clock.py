"""Senders' clocks: a tracker says when it sent its events (``sent_at``, ``sentAt``) by its own clock, so the
events' times are moved by how far that clock is from ours — as PostHog's and Segment's servers do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def when(value: Any) -> datetime | None:
    """An ISO 8601 time (a naive one is UTC), or None when ``value`` is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def skew(sent_at: Any, now: datetime) -> float:
    """Seconds to add to the sender's times: how far its clock is behind ours (0 when it did not say)."""
    sent = when(sent_at)
    return 0.0 if sent is None else (now - sent).total_seconds()


def on_our_clock(value: Any, seconds: float) -> Any:
    """``value`` (the sender's ISO time) as epoch ms on our clock; anything unreadable is passed on as it
    is, for the capture path to refuse with its reason."""
    moment = when(value)
    return value if moment is None else int((moment.timestamp() + seconds) * 1000)
