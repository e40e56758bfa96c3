"""Issue #27: a period's label, its range and its buckets agree — "7 days" is seven daily buckets, today
and the six days before it; "12 months" is twelve, this month and the eleven before it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from belvedere.query.dates import bucket_starts, resolve_range, to_local
from belvedere.web.pages.periods import INTERVAL, PERIODS, dates

NOW = datetime(2026, 12, 6, 14, 30)  # UTC, a Sunday afternoon
EXPECTED = {"today": 24, "yesterday": 24, "7d": 7, "30d": 30, "12m": 12}


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Pacific/Auckland"])
@pytest.mark.parametrize("period", sorted(PERIODS))
def test_each_period_has_as_many_buckets_as_its_label_says(period: str, zone: str) -> None:
    tz = ZoneInfo(zone)
    window = dates(period)
    rng = resolve_range(window["date_from"], window.get("date_to"), tz, NOW)
    buckets = bucket_starts(rng, INTERVAL[period])  # type: ignore[arg-type]
    start, end = rng.local_start(), rng.local_end()
    today = to_local(NOW, tz).date()
    if period in EXPECTED:
        assert len(buckets) == EXPECTED[period], (period, buckets[0], buckets[-1])
    if period == "mtd":
        assert len(buckets) == today.day
    if period in ("7d", "30d", "90d"):
        assert (end.date() - start.date()).days == int(period[:-1]), (period, start, end)
    if period != "yesterday":
        assert start.date() <= today < end.date()  # the range ends with today
