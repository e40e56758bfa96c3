"""The job platform's arithmetic of time: backoff with full jitter, and schedule ticks in a time zone."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from belvedere.platform.jobs import RetryPolicy, ScheduleSpec
from belvedere.platform.jobs.scheduler import check_cron, latest_tick, next_tick, zone


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    base_ms=st.integers(min_value=1, max_value=60_000),
    cap_s=st.integers(min_value=1, max_value=86_400),
    seed=st.integers(),
)
def test_a_retry_waits_between_zero_and_the_capped_exponential(
    attempt: int, base_ms: int, cap_s: int, seed: int
) -> None:
    policy = RetryPolicy(base=timedelta(milliseconds=base_ms), cap=timedelta(seconds=cap_s))
    ceiling = min(timedelta(seconds=cap_s), timedelta(milliseconds=base_ms) * 2 ** min(attempt - 1, 40))
    assert policy.ceiling(attempt) == ceiling
    assert timedelta(0) <= policy.delay(attempt, random.Random(seed)) <= ceiling


def test_jitter_spreads_the_retries_of_jobs_that_failed_together() -> None:
    policy = RetryPolicy(base=timedelta(seconds=10))
    rng = random.Random(7)
    delays = [policy.delay(4, rng).total_seconds() for _ in range(1000)]
    assert max(delays) <= 80 and min(delays) >= 0
    # Full jitter is uniform over [0, 80 s]: each quarter gets about a quarter of them.
    quarters = [sum(1 for d in delays if q * 20 <= d < (q + 1) * 20) for q in range(4)]
    assert all(200 <= n <= 300 for n in quarters), quarters


PARIS_SPRING = datetime(2026, 3, 28, 12, tzinfo=UTC)
NEW_YORK_FALL = datetime(2026, 10, 31, 12, tzinfo=UTC)


def _ticks(cron: str, tz: str, start: datetime, n: int) -> list[str]:
    out, at = [], start
    for _ in range(n):
        at = next_tick(cron, None, tz, at, at)
        out.append(at.astimezone(zone(tz)).isoformat())
    return out


def test_cron_ticks_keep_local_time_across_both_changes_of_the_clocks() -> None:
    # 02:30 does not exist in Paris on 29 March 2026: that day's tick is at 03:00 local.
    assert _ticks("30 2 * * *", "Europe/Paris", PARIS_SPRING, 3) == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]
    # New York falls back on 1 November 2026: 09:00 is 13:00 UTC before and 14:00 UTC after.
    ticks = [NEW_YORK_FALL]
    for _ in range(3):
        ticks.append(next_tick("0 9 * * *", None, "America/New_York", ticks[-1], ticks[-1]))
    assert [t.isoformat() for t in ticks[1:]] == [
        "2026-10-31T13:00:00+00:00",
        "2026-11-01T14:00:00+00:00",
        "2026-11-02T14:00:00+00:00",
    ]
    assert ticks[1].tzinfo is UTC


def test_an_interval_keeps_its_phase_and_the_latest_missed_tick_names_the_run() -> None:
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    hour = timedelta(hours=1)
    now = anchor + timedelta(hours=5, minutes=20)
    assert next_tick(None, hour, "UTC", now, anchor) == anchor + timedelta(hours=6)
    assert latest_tick(None, hour, "UTC", now, anchor) == anchor + timedelta(hours=5)
    assert next_tick(None, hour, "UTC", anchor - timedelta(minutes=1), anchor) == anchor
    assert latest_tick("0 * * * *", None, "UTC", now, anchor) == anchor + timedelta(hours=5)
    assert latest_tick("0 * * * *", None, "UTC", anchor, anchor) == anchor  # due exactly now


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (dict(cron="61 * * * *"), "not a cron expression"),
        (dict(cron="* * * * * *"), "five fields"),
        (dict(tz="Mars/Olympus"), "not a time zone"),
    ],
)
def test_bad_schedules_are_refused_with_the_reason(spec: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        if "cron" in spec:
            check_cron(spec["cron"])
        zone(spec.get("tz", "UTC"))


def test_a_schedule_needs_exactly_one_of_cron_and_every() -> None:
    with pytest.raises(ValueError, match="exactly one of cron and every"):
        ScheduleSpec("x", "record")
    with pytest.raises(ValueError, match="exactly one of cron and every"):
        ScheduleSpec("x", "record", cron="* * * * *", every=timedelta(hours=1))
    with pytest.raises(ValueError, match="at least a second"):
        ScheduleSpec("x", "record", every=timedelta(milliseconds=10))
