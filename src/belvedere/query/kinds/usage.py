"""``usage``: per period, total, active, new, returning, churned and retained people (seed 003's
``UsageMetrics``, computed):

- total: people whose first-ever activity is in or before the period;
- active: active in the period; new: first-ever activity in it; returning: active and not new;
- retained: active in the period and in the one before; churned: active in the one before, not in this one.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlglot import exp

from belvedere.query.dates import format_label, to_utc
from belvedere.query.kinds.activity import ActivityQuery, ActivityRunner
from belvedere.query.runner import register
from belvedere.query.sql import Params, col


class UsageQuery(ActivityQuery):
    kind: Literal["usage"] = "usage"


@register
class UsageRunner(ActivityRunner):
    kind = "usage"
    spec_model = UsageQuery

    def calculate(self) -> dict[str, Any]:
        counts = self.counts(
            {
                "active": "1 = 1",
                "new": "first_idx = idx",
                "retained": "prev_idx = idx - 1",
                "leaving": "next_idx IS NULL OR next_idx > idx + 1",
            },
        )
        total = self._people_before_range()
        periods = []
        for i, label in enumerate(self.labels):
            here = counts.get(i, {})
            total += here.get("new", 0)
            active, new = here.get("active", 0), here.get("new", 0)
            periods.append(
                {
                    "period": format_label(label, self.spec.interval),
                    "total": total,
                    "active": active,
                    "new": new,
                    "returning": active - new,
                    "retained": here.get("retained", 0),
                    "churned": counts.get(i - 1, {}).get("leaving", 0) if self.happened(i) else 0,
                }
            )
        return {"kind": "usage", "interval": self.spec.interval, "periods": periods}

    def _people_before_range(self) -> int:
        """People whose first activity came before the range's first bucket: the starting point of the
        running total (a week or month bucket can start before the range; its own new people are counted
        as new in it, not here)."""

        def build() -> tuple[exp.Expr, Params]:
            params = Params()
            first_bucket = to_utc(self.origin, self.range.tz)
            where = [*self.base(params), exp.LT(this=col("timestamp"), expression=params.bind(first_bucket))]
            return self.people(exp.and_(*where)), params

        return int(self.fetch_built("before", build)[0][0] or 0)
