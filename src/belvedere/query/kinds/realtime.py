"""``realtime``: who is here now — visitors in the last 5 and 30 minutes, top pages and sources of the
last 30 minutes, events per minute, and visits today against the same time yesterday. Never cached."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlglot import exp

from belvedere.query.compiled import compile_shaped
from belvedere.query.dates import to_local, to_utc
from belvedere.query.fields import MAX_FILTERS, Filter, conditions
from belvedere.query.runner import QueryResult, QueryRunner, QuerySpec, register
from belvedere.query.sql import Params, col, fn, parse


class RealtimeQuery(QuerySpec):
    kind: Literal["realtime"] = "realtime"
    filters: list[Filter] = Field(default_factory=list, max_length=MAX_FILTERS)
    top: int = Field(10, ge=1, le=100, description="How many pages and sources to list.")


class Ranked(BaseModel):
    value: str | None
    visitors: int


class Minute(BaseModel):
    minute: str = Field(description="The minute's start, UTC (ISO 8601).")
    events: int


class RealtimeResult(QueryResult):
    kind: Literal["realtime"] = "realtime"
    visitors_5m: int
    visitors_30m: int
    top_pages: list[Ranked]
    top_sources: list[Ranked]
    events_per_minute: list[Minute]
    visits_today: int
    visits_yesterday_same_time: int


@register
class RealtimeRunner(QueryRunner[RealtimeQuery]):
    spec_model = RealtimeQuery
    result_model = RealtimeResult
    cacheable = False

    def _within(self, params: Params, start: str, end: str) -> exp.Expr:
        return exp.and_(
            exp.GTE(this=col("timestamp"), expression=params.slot(start)),
            exp.LT(this=col("timestamp"), expression=params.slot(end)),
            *conditions(self.spec.filters, params),
        )

    @staticmethod
    def _part(name: str, value: exp.Expr | None, a: exp.Expr | None, b: exp.Expr) -> list[exp.Expr]:
        """The columns every part of the answer shares: its name, a text value and two numbers."""
        big = exp.DataType.build("bigint")
        return [
            exp.Literal.string(name).as_("part"),
            exp.cast(value if value is not None else exp.Null(), exp.DataType.build("text")).as_("value"),
            exp.cast(a if a is not None else exp.Null(), big).as_("a"),
            exp.cast(b, big).as_("b"),
        ]

    def _top(self, name: str, field: str, pages_only: bool) -> exp.Select:
        where = parse(f"{field} IS NOT NULL" + (" AND event = '$pageview'" if pages_only else ""))
        top = (
            exp.select(col(field).as_("value"), parse("bv_uniq_exact(person_id)").as_("visitors"))
            .from_("recent")
            .where(where)
            .group_by("value")
            .order_by("visitors DESC", "value", dialect="duckdb")
            .limit(self.spec.top)
        )
        return exp.select(*self._part(name, col("value"), None, col("visitors"))).from_(top.subquery("t"))

    def calculate(self) -> RealtimeResult:
        """One statement (each part tagged by name) over the last 30 minutes' events, and the visits of
        today and of yesterday until the same time. Its tree is built once per spec (``compile_shaped``):
        only the times change from one call to the next."""
        now = self.ctx.now
        since30 = now.replace(second=0, microsecond=0) - timedelta(minutes=29)
        slots = {
            "s_recent": now - timedelta(minutes=30),
            "s_end": now + timedelta(minutes=1),
            "s_five": now - timedelta(minutes=5),
            "s_minute0": since30,
            "s_minute0_ms": _ms(since30),
            **self._days(),
        }
        query = compile_shaped(
            ("realtime", self.spec.model_dump_json()),
            self._tree,
            slots,
            project_id=self.ctx.project_id,
            dialect=self.ctx.store.dialect,
        )
        counts, numbers = self._read(self.fetch_compiled(query))
        return RealtimeResult(
            visitors_5m=numbers.get("visitors", (0, 0))[0],
            visitors_30m=numbers.get("visitors", (0, 0))[1],
            top_pages=counts["page"],
            top_sources=counts["source"],
            events_per_minute=[
                Minute(
                    minute=(since30 + timedelta(minutes=i)).isoformat(timespec="minutes") + "Z",
                    events=numbers.get(f"minute{i}", (0, 0))[1],
                )
                for i in range(30)
            ],
            visits_today=numbers.get("today", (0, 0))[1],
            visits_yesterday_same_time=numbers.get("yesterday", (0, 0))[1],
        )

    def _tree(self, params: Params) -> exp.Expr:
        five = exp.GTE(this=col("timestamp"), expression=params.slot("s_five"))
        minute = fn(
            "int_div",
            exp.Sub(this=fn("epoch_ms", col("timestamp")), expression=params.slot("s_minute0_ms")),
            60_000,
        )
        visitors = self._part(
            "visitors",
            None,
            exp.Anonymous(this="bv_uniq_exact", expressions=[exp.If(this=five, true=col("person_id"))]),
            parse("bv_uniq_exact(person_id)"),
        )
        per_minute = (
            exp.select(*self._part("minute", None, minute, exp.Count(this=exp.Star())))
            .from_("recent")
            .where(exp.GTE(this=col("timestamp"), expression=params.slot("s_minute0")))
            .group_by(minute.copy())
        )
        parts: list[exp.Select] = [
            exp.select(*visitors).from_("recent"),
            per_minute,
            self._top("page", "path", pages_only=True),
            self._top("source", "referrer_domain", pages_only=False),
            *self._visits_so_far(params),
        ]
        tree: exp.Query = parts[0]
        for part in parts[1:]:
            tree = exp.union(tree, part, distinct=False, copy=False)
        recent = (
            exp.select("timestamp", "person_id", "event", "path", "referrer_domain")
            .from_("events")
            .where(self._within(params, "s_recent", "s_end"))
        )
        return tree.with_("recent", as_=recent)

    def _read(
        self, rows: list[tuple[Any, ...]]
    ) -> tuple[dict[str, list[Ranked]], dict[str, tuple[int, int]]]:
        counts: dict[str, list[Ranked]] = {"page": [], "source": []}
        numbers: dict[str, tuple[int, int]] = {}
        for part, value, a, b in rows:
            if part in counts:
                counts[part].append(Ranked(value=value, visitors=int(b)))
            elif part == "minute":
                numbers[f"minute{int(a)}"] = (0, int(b))
            else:
                numbers[part] = (int(a or 0), int(b or 0))
        for listed in counts.values():
            listed.sort(key=lambda item: (-item.visitors, item.value or ""))
        return counts, numbers

    def _days(self) -> dict[str, datetime]:
        """Today from midnight until now, and yesterday from midnight until the same time of day."""
        tz = self.ctx.tz
        midnight = to_local(self.ctx.now, tz).replace(hour=0, minute=0, second=0, microsecond=0)
        today_start = to_utc(midnight, tz)
        yesterday_start = to_utc(midnight - timedelta(days=1), tz)
        # Up to now, included, at the events' precision (milliseconds: ClickHouse drops finer bounds).
        now_ms = self.ctx.now.replace(microsecond=self.ctx.now.microsecond // 1000 * 1000)
        elapsed = now_ms - today_start + timedelta(milliseconds=1)
        return {
            "s_today": today_start,
            "s_today_end": today_start + elapsed,
            "s_yesterday": yesterday_start,
            "s_yesterday_end": yesterday_start + elapsed,
        }

    def _visits_so_far(self, params: Params) -> list[exp.Select]:
        """Visits (distinct sessions) today and yesterday, each until the same time of day."""
        return [
            exp.select(*self._part(name, None, None, parse("bv_uniq_exact(session_id)")))
            .from_("events")
            .where(self._within(params, f"s_{name}", f"s_{name}_end"))
            for name in ("today", "yesterday")
        ]


def _ms(naive_utc: datetime) -> int:
    return int((naive_utc - datetime(1970, 1, 1)).total_seconds() * 1000)
