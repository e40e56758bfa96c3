"""The buckets a rule reads, in the project's time zone: a rule only ever looks at buckets that are over.

Hours, days, weeks (Monday first) and months are cut as the query API's trends cut them, in local
wall-clock time; five-minute buckets are cut on the local clock too. Instants in and out are aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from belvedere.alerts.rules import Interval
from belvedere.query.dates import next_bucket, to_local, to_utc, truncate

Bucket = tuple[datetime, datetime]
FIVE_MINUTES = timedelta(minutes=5)


def _local(at: datetime, tz: ZoneInfo) -> datetime:
    return to_local(at.astimezone(UTC).replace(tzinfo=None), tz)


def _utc(local: datetime, tz: ZoneInfo) -> datetime:
    return to_utc(local, tz).replace(tzinfo=UTC)


def _floor(local: datetime, interval: Interval) -> datetime:
    if interval == "5m":
        return local.replace(minute=local.minute - local.minute % 5, second=0, microsecond=0)
    return truncate(local, interval)


def _step(local: datetime, interval: Interval, n: int = 1) -> datetime:
    if interval == "5m":
        return local + FIVE_MINUTES * n
    for _ in range(n):
        local = next_bucket(local, interval)
    return local


def _back(local: datetime, interval: Interval) -> datetime:
    if interval == "5m":
        return local - FIVE_MINUTES
    if interval == "month":  # the first of the month before (``local`` starts a month)
        return (local.replace(day=1) - timedelta(days=1)).replace(day=1)
    return {
        "hour": local - timedelta(hours=1),
        "day": local - timedelta(days=1),
        "week": local - timedelta(weeks=1),
    }[interval]


def last_complete(interval: Interval, tz: ZoneInfo, at: datetime) -> Bucket:
    """The newest bucket that ended at or before ``at``."""
    end_local = _floor(_local(at, tz), interval)
    start_local = _back(end_local, interval)
    return _utc(start_local, tz), _utc(end_local, tz)


def complete_buckets(interval: Interval, tz: ZoneInfo, at: datetime, n: int) -> list[Bucket]:
    """The ``n`` newest complete buckets as of ``at``, oldest first."""
    end_local = _floor(_local(at, tz), interval)
    starts = [end_local]
    for _ in range(n):
        starts.append(_back(starts[-1], interval))
    starts.reverse()
    return [(_utc(a, tz), _utc(_step(a, interval), tz)) for a in starts[:-1]]


def compared(bucket: Bucket, interval: Interval, tz: ZoneInfo, compare_to: str) -> Bucket:
    """The bucket a change is measured against: the one before, or the same bucket a week earlier (the same
    local times, so across a change of the clocks too)."""
    start_local = _local(bucket[0], tz)
    if compare_to == "week_before":
        earlier = start_local - timedelta(weeks=1)
    else:
        earlier = _back(start_local, interval)
    return _utc(earlier, tz), _utc(_step(earlier, interval), tz)
