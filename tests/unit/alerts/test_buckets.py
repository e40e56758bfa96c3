"""Monthly buckets: complete ones, and the month before (a month rule's buckets, its preview)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from belvedere.alerts.buckets import compared, complete_buckets, last_complete

PARIS = ZoneInfo("Europe/Paris")


def test_the_last_complete_month_and_the_ones_before_in_the_project_zone() -> None:
    at = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert last_complete("month", PARIS, at) == (
        datetime(2026, 1, 31, 23, tzinfo=UTC),  # 1 February, 00:00 in Paris
        datetime(2026, 2, 28, 23, tzinfo=UTC),
    )
    starts = [start for start, _ in complete_buckets("month", PARIS, at, 3)]
    assert starts == [
        datetime(2025, 11, 30, 23, tzinfo=UTC),
        datetime(2025, 12, 31, 23, tzinfo=UTC),
        datetime(2026, 1, 31, 23, tzinfo=UTC),
    ]
    february = last_complete("month", PARIS, at)
    assert compared(february, "month", PARIS, "previous") == (
        datetime(2025, 12, 31, 23, tzinfo=UTC),
        datetime(2026, 1, 31, 23, tzinfo=UTC),
    )
