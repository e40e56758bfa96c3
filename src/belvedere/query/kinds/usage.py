"""``usage``: per period, total, active, new, returning, churned and retained people (seed 003's
``UsageMetrics``, computed):

- total: people whose first-ever activity is in or before the period;
- active: active in the period; new: first-ever activity in it; returning: active and not new;
- retained: active in the period and in the one before; churned: active in the one before, not in this one.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from belvedere.query.dates import Interval, format_label
from belvedere.query.kinds.activity import BEFORE_SCAN, ActivityQuery, ActivityRunner
from belvedere.query.runner import QueryResult, register


class UsageQuery(ActivityQuery):
    kind: Literal["usage"] = "usage"


class UsagePeriod(BaseModel):
    period: str
    total: int
    active: int
    new: int
    returning: int
    retained: int
    churned: int


class UsageResult(QueryResult):
    kind: Literal["usage"] = "usage"
    interval: Interval
    periods: list[UsagePeriod]
    current: int | None = Field(
        None, description="While the range is under way, the index of the period that holds now (not over)."
    )


@register
class UsageRunner(ActivityRunner):
    spec_model = UsageQuery
    result_model = UsageResult

    def calculate(self) -> UsageResult:
        counts = self.counts(
            {
                "active": "1 = 1",
                "new": "first_idx = idx",
                "retained": "prev_idx = idx - 1",
                "leaving": "next_idx IS NULL OR next_idx > idx + 1",
            },
            earlier=True,
        )
        # People whose first activity came before the range's first bucket: those active before the bucket
        # just before it, and those new in that bucket. (A week or month bucket can start before the range;
        # its own new people are counted as new in it, not here.)
        total = counts.get(BEFORE_SCAN, {}).get("people", 0) + counts.get(-1, {}).get("new", 0)
        periods = []
        for i, label in enumerate(self.labels):
            here = counts.get(i, {})
            total += here.get("new", 0)
            active, new = here.get("active", 0), here.get("new", 0)
            periods.append(
                UsagePeriod(
                    period=format_label(label, self.spec.interval),
                    total=total,
                    active=active,
                    new=new,
                    returning=active - new,
                    retained=here.get("retained", 0),
                    churned=counts.get(i - 1, {}).get("leaving", 0) if self.happened(i) else 0,
                )
            )
        return UsageResult(interval=self.spec.interval, periods=periods, current=self.under_way())
