"""``realtime``: who is here now — visitors in the last 5 and 30 minutes, top pages and sources of the
last 30 minutes, events per minute, and visits today against the same time yesterday. Never cached."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field
from sqlglot import exp

from belvedere.query.dates import to_local, to_utc
from belvedere.query.fields import Filter, conditions
from belvedere.query.runner import QueryRunner, QuerySpec, register
from belvedere.query.sql import Params, col, fn, parse


class RealtimeQuery(QuerySpec):
    kind: Literal["realtime"] = "realtime"
    filters: list[Filter] = Field(default_factory=list)
    top: int = Field(10, ge=1, le=100, description="How many pages and sources to list.")


@register
class RealtimeRunner(QueryRunner[RealtimeQuery]):
    kind = "realtime"
    spec_model = RealtimeQuery
    cacheable = False

    def _since(self, params: Params, start: datetime, end: datetime | None = None) -> exp.Expr:
        parts = [
            exp.GTE(this=col("timestamp"), expression=params.bind(start)),
            *conditions(self.spec.filters, params),
        ]
        parts.append(
            exp.LT(this=col("timestamp"), expression=params.bind(end or self.ctx.now + timedelta(minutes=1)))
        )
        return exp.and_(*parts)

    def _top(self, field: str, since: datetime, pages_only: bool) -> list[dict[str, Any]]:
        params = Params()
        where = self._since(params, since)
        if pages_only:
            where = exp.and_(where, parse("event = '$pageview'"))
        tree = (
            exp.select(col(field).as_("value"), parse("bv_uniq_exact(person_id)").as_("visitors"))
            .from_("events")
            .where(exp.and_(where, exp.Not(this=exp.Is(this=col(field), expression=exp.Null()))))
            .group_by("value")
            .order_by("visitors DESC", "value", dialect="duckdb")
            .limit(self.spec.top)
        )
        return [{"value": v, "visitors": int(n)} for v, n in self.fetch(tree, params)]

    def calculate(self) -> dict[str, Any]:
        now = self.ctx.now
        minute = now.replace(second=0, microsecond=0)
        since30 = minute - timedelta(minutes=29)
        params = Params()
        visitors = (
            exp.select(
                exp.Anonymous(
                    this="bv_uniq_exact",
                    expressions=[
                        exp.If(
                            this=exp.GTE(
                                this=col("timestamp"), expression=params.bind(now - timedelta(minutes=5))
                            ),
                            true=col("person_id"),
                        )
                    ],
                ).as_("v5"),
                parse("bv_uniq_exact(person_id)").as_("v30"),
            )
            .from_("events")
            .where(self._since(params, now - timedelta(minutes=30)))
        )
        v5, v30 = self.fetch(visitors, params)[0]

        params = Params()
        per_minute = (
            exp.select(
                fn(
                    "int_div",
                    exp.Sub(this=fn("epoch_ms", col("timestamp")), expression=params.bind(_ms(since30))),
                    60_000,
                ).as_("m"),
                exp.Count(this=exp.Star()).as_("n"),
            )
            .from_("events")
            .where(self._since(params, since30))
            .group_by("m")
        )
        counts = {int(m): int(n) for m, n in self.fetch(per_minute, params)}
        minutes = [
            {
                "minute": (since30 + timedelta(minutes=i)).isoformat(timespec="minutes") + "Z",
                "events": counts.get(i, 0),
            }
            for i in range(30)
        ]
        return {
            "kind": "realtime",
            "visitors_5m": int(v5 or 0),
            "visitors_30m": int(v30 or 0),
            "top_pages": self._top("path", now - timedelta(minutes=30), pages_only=True),
            "top_sources": self._top("referrer_domain", now - timedelta(minutes=30), pages_only=False),
            "events_per_minute": minutes,
            **self._today_vs_yesterday(),
        }

    def _today_vs_yesterday(self) -> dict[str, int]:
        tz = self.ctx.tz
        local_now = to_local(self.ctx.now, tz)
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        today_start = to_utc(midnight, tz)
        yesterday_start = to_utc(midnight - timedelta(days=1), tz)
        elapsed = self.ctx.now - today_start
        params = Params()
        tree = (
            exp.select(
                parse("bv_uniq_exact(session_id)").as_("today"),
            )
            .from_("events")
            .where(self._since(params, today_start, self.ctx.now + timedelta(microseconds=1)))
        )
        other = Params()
        before = (
            exp.select(parse("bv_uniq_exact(session_id)"))
            .from_("events")
            .where(self._since(other, yesterday_start, yesterday_start + elapsed + timedelta(microseconds=1)))
        )
        return {
            "visits_today": int(self.fetch(tree, params)[0][0] or 0),
            "visits_yesterday_same_time": int(self.fetch(before, other)[0][0] or 0),
        }


def _ms(naive_utc: datetime) -> int:
    return int((naive_utc - datetime(1970, 1, 1)).total_seconds() * 1000)
