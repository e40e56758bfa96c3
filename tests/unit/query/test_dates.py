"""Date ranges and buckets in a project's time zone, DST included; formulas."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from belvedere.query.dates import (
    DateRangeError,
    bucket_starts,
    format_label,
    offset_changes,
    resolve_range,
    to_utc,
)
from belvedere.query.formula import FormulaError, check_formula, evaluate

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2025, 3, 31, 10, 0)  # naive UTC; 12:00 in Paris (summer time since 30 March)


def test_whole_days_in_the_zone() -> None:
    r = resolve_range("2025-03-30", "2025-03-30", PARIS, NOW)
    # The day clocks go forward lasts 23 hours: 23:00 UTC on the 29th to 22:00 UTC on the 30th.
    assert (r.start, r.end) == (datetime(2025, 3, 29, 23), datetime(2025, 3, 30, 22))
    autumn = resolve_range("2025-10-26", "2025-10-26", PARIS, NOW)
    assert autumn.end - autumn.start == (datetime(2025, 1, 2) - datetime(2025, 1, 1)) * 25 / 24


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("-7d", datetime(2025, 3, 23, 23)),
        ("today", datetime(2025, 3, 30, 22)),
        ("yesterday", datetime(2025, 3, 29, 23)),
        ("mtd", datetime(2025, 2, 28, 23)),
        ("ytd", datetime(2024, 12, 31, 23)),
        ("-1m", datetime(2025, 1, 31, 23)),
        ("-2w", datetime(2025, 3, 16, 23)),
        ("-24h", datetime(2025, 3, 30, 10)),
        ("2025-03-01T08:00:00Z", datetime(2025, 3, 1, 8)),
    ],
)
def test_relative_and_absolute_starts(text: str, start: datetime) -> None:
    r = resolve_range(text, None, PARIS, NOW)
    assert r.start == start
    assert r.end == datetime(2025, 3, 31, 22)  # end of today in Paris


def test_bad_ranges_say_what_to_write() -> None:
    with pytest.raises(DateRangeError, match="ISO 8601"):
        resolve_range("last tuesday", None, PARIS, NOW)
    with pytest.raises(DateRangeError, match="after"):
        resolve_range("2025-03-10", "2025-03-01", PARIS, NOW)


def test_offset_changes_find_the_dst_instant() -> None:
    changes = offset_changes(PARIS, datetime(2025, 3, 1), datetime(2025, 11, 1))
    assert changes == [
        (datetime(2025, 3, 1), 3600),
        (datetime(2025, 3, 30, 1), 7200),
        (datetime(2025, 10, 26, 1), 3600),
    ]
    assert offset_changes(ZoneInfo("Asia/Kolkata"), datetime(2025, 1, 1), datetime(2026, 1, 1)) == [
        (datetime(2025, 1, 1), 19800)
    ]
    lord_howe = offset_changes(ZoneInfo("Australia/Lord_Howe"), datetime(2025, 1, 1), datetime(2026, 1, 1))
    assert [o for _, o in lord_howe] == [39600, 37800, 39600]


def test_buckets_are_local_labels() -> None:
    r = resolve_range("2025-03-29", "2025-04-02", PARIS, NOW)
    weeks = bucket_starts(r, "week")
    assert [format_label(w, "week") for w in weeks] == ["2025-03-24", "2025-03-31"]
    months = bucket_starts(resolve_range("2024-12-15", "2025-02-01", PARIS, NOW), "month")
    assert [format_label(m, "month") for m in months] == ["2024-12-01", "2025-01-01", "2025-02-01"]
    hours = bucket_starts(resolve_range("2025-03-30", "2025-03-30", PARIS, NOW), "hour")
    # Clocks skip 02:00-03:00: a 23-hour day with no 02:00 bucket.
    assert len(hours) == 23 and format_label(hours[2], "hour") == "2025-03-30T03:00"
    autumn = bucket_starts(resolve_range("2025-10-26", "2025-10-26", PARIS, NOW), "hour")
    assert len(autumn) == 24  # 02:00-03:00 happens twice, as one bucket


def test_the_previous_period_has_the_same_local_days() -> None:
    r = resolve_range("2025-03-31", "2025-04-06", PARIS, NOW)  # the week after the change
    previous = r.previous()
    assert (previous.local_start(), previous.local_end()) == (datetime(2025, 3, 24), datetime(2025, 3, 31))


def test_a_day_starting_in_a_gap_starts_when_its_clocks_do() -> None:
    # Santiago skipped midnight on 7 September 2025: the day starts at 01:00 local, 04:00 UTC.
    assert to_utc(datetime(2025, 9, 7), ZoneInfo("America/Santiago")) == datetime(2025, 9, 7, 4)


def test_formulas() -> None:
    tree = check_formula("(A + B) / C * 100", {"A", "B", "C"})
    assert evaluate(tree, {"A": 1, "B": 3, "C": 8}) == 50.0
    assert evaluate(tree, {"A": 1, "B": 3, "C": 0}) is None
    assert evaluate(check_formula("-A", {"A"}), {"A": 2}) == -2.0
    for bad in ("A ** 2", "A.real", "abs(A)", "A if B else C", "[A]", "'x'", "D"):
        with pytest.raises(FormulaError):
            check_formula(bad, {"A", "B", "C"})
