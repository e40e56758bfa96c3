"""``lifecycle``: per interval, the people who are new, returning, resurrecting and dormant.

PostHog's definitions, over the activity event (any event by default):
- new: their first-ever activity falls in this interval;
- returning: active in this interval and in the one before;
- resurrecting: active in this interval, not in the one before, but at some time earlier;
- dormant: active in the interval before, not in this one (reported as a negative number).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from belvedere.query.dates import Interval, format_label
from belvedere.query.kinds.activity import ActivityQuery, ActivityRunner
from belvedere.query.runner import QueryResult, register

STATUSES = ("new", "returning", "resurrecting", "dormant")


class LifecycleQuery(ActivityQuery):
    kind: Literal["lifecycle"] = "lifecycle"


class LifecycleResult(QueryResult):
    kind: Literal["lifecycle"] = "lifecycle"
    interval: Interval
    labels: list[str]
    series: dict[str, list[int]] = {}
    current: int | None = Field(
        None, description="While the range is under way, the index of the bucket that holds now (not over)."
    )


@register
class LifecycleRunner(ActivityRunner):
    spec_model = LifecycleQuery
    result_model = LifecycleResult

    def calculate(self) -> LifecycleResult:
        counts = self.counts(
            {
                "new": "first_idx = idx",
                "returning": "first_idx < idx AND prev_idx = idx - 1",
                "resurrecting": "first_idx < idx AND (prev_idx IS NULL OR prev_idx < idx - 1)",
                "leaving": "next_idx IS NULL OR next_idx > idx + 1",  # dormant in the next interval
            },
        )
        series: dict[str, list[int]] = {status: [] for status in STATUSES}
        for i in range(len(self.labels)):
            here = counts.get(i, {})
            for status in ("new", "returning", "resurrecting"):
                series[status].append(here.get(status, 0))
            leaving = counts.get(i - 1, {}).get("leaving", 0)
            series["dormant"].append(-leaving if self.happened(i) else 0)
        return LifecycleResult(
            interval=self.spec.interval,
            labels=[format_label(label, self.spec.interval) for label in self.labels],
            series=series,
            current=self.under_way(),
        )
