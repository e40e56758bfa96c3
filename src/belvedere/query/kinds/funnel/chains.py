"""How far each person goes through a funnel, in one sorted pass per step instead of self-joins; what both
funnel kinds count (``funnel``) or list (``funnel_people``).

Ordered (ClickHouse ``windowFunnel`` semantics, strict time order): a person reaches step k when step events
happen at t1 < t2 < … < tk with tk - t1 ≤ window. Each event of step k carries the *latest* feasible start
of a chain reaching it — the latest step-1 time reachable through steps 2…k-1 — which is the best start to
extend (it leaves the most of the window). That is a running ``max`` over earlier rows: one window function
per step, no join. ``strict`` also requires the chain's events to be consecutive among all the person's
events; ``unordered`` counts how many distinct steps a person did within one window, in any order.

Exclusions: a chain is spoiled from step b on when an excluded event happens strictly between its step-a and
step-b events (a < b). Checked link by link, that is: no excluded event in (t_a, t_a+1), nor in
[t_j, t_j+1) for a < j < b. Each row counts the excluded events up to its time, including (``le``) or not
(``lt``) those at that very time; a link p → e is clean when the counts are equal (none in between), and
counts never decrease, so the predecessor to extend is the one with the highest count and then the latest
start: the running max of ``count * 2^42 + start`` (epoch milliseconds stay below 2^42 until 2109). Whether
a link is clean depends on its two rows alone, so the latest start still dominates.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlglot import exp

from belvedere.query.fields import conditions
from belvedere.query.kinds.funnel.spec import Exclusion, FunnelDefinition, FunnelStep
from belvedere.query.runner import DatedRunner
from belvedere.query.sql import Params, col, fn, parse

F = TypeVar("F", bound=FunnelDefinition)
_SHIFT = 2**42  # above any epoch millisecond before 2109: the excluded-event count sits above the start


def _window(order_by: str, frame: str) -> str:
    return f"OVER (PARTITION BY who ORDER BY {order_by} {frame})"


_BEFORE = "RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
_UP_TO = "RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
_PREVIOUS_ROW = "ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING"


class FunnelChains(DatedRunner[F]):
    """The per-person statement both funnel kinds build on (``per_person``)."""

    def is_step(self, step: FunnelStep | Exclusion, params: Params) -> exp.Expr:
        return exp.and_(
            exp.EQ(this=col("event"), expression=params.bind(step.event)), *conditions(step.filters, params)
        )

    def extra_columns(self, params: Params) -> list[tuple[exp.Expr, str]]:
        """Columns a kind adds to each event row, each with how ``per_person`` combines a person's rows
        (``min`` or ``max``)."""
        return []

    def _events(self, params: Params) -> exp.Select:
        """The people's events in range, with one boolean column per step (s1 … sn) and per exclusion
        (x1 … xm)."""
        flags: list[exp.Expr] = []
        matches: list[exp.Expr] = []
        wanted: list[FunnelStep | Exclusion] = [*self.spec.steps, *self.spec.exclusions]
        for i, step in enumerate(wanted):
            is_step = self.is_step(step, params)
            matches.append(exp.Paren(this=is_step.copy()))
            name = f"s{i + 1}" if i < len(self.spec.steps) else f"x{i + 1 - len(self.spec.steps)}"
            flags.append(exp.func("coalesce", is_step, exp.false()).as_(name))
        where = [*self.where(params), parse("person_id IS NOT NULL")]
        if self.spec.order != "strict":
            # Only events of some step matter (strict needs them all, to see what lies between steps):
            # a step on page views with a page filter keeps a few thousand rows out of millions.
            where.append(exp.Paren(this=exp.or_(*matches)))
        return (
            exp.select(
                col("person_id").as_("who"),
                fn("epoch_ms", col("timestamp")).as_("t"),
                *flags,
                *[column for column, _ in self.extra_columns(params)],
            )
            .from_("events")
            .where(exp.and_(*where))
        )

    def _extra_names(self) -> list[str]:
        return [column.alias for column, _ in self.extra_columns(Params())]

    def _combined(self) -> list[exp.Expr]:
        return [parse(f"{how}({c.alias})").as_(c.alias) for c, how in self.extra_columns(Params())]

    def _counted(self, params: Params) -> exp.Select:
        """The events with, per exclusion, how many excluded events lie at or before (``le``) and strictly
        before (``lt``) each row's time."""
        columns: list[exp.Expr] = [exp.Star()]
        for i in range(1, len(self.spec.exclusions) + 1):
            flag = f"CASE WHEN x{i} THEN 1 ELSE 0 END"
            columns += [
                parse(f"CAST(coalesce(sum({flag}) {_window('t', _UP_TO)}, 0) AS BIGINT)").as_(f"le{i}"),
                parse(f"CAST(coalesce(sum({flag}) {_window('t', _BEFORE)}, 0) AS BIGINT)").as_(f"lt{i}"),
            ]
        return exp.select(*columns).from_(self._events(params).subquery("e"))

    def _guards(self, k: int) -> tuple[str, str] | None:
        """For the link from step k-1 to step k: the predecessor's excluded-event count and the row's own,
        over the exclusions whose span holds the link; None when none does."""
        spans = [
            (i, x.from_step)
            for i, x in enumerate(self.spec.exclusions, start=1)
            if x.from_step < k <= x.to_step
        ]
        if not spans:
            return None
        before = " + ".join(f"le{i}" if a == k - 1 else f"lt{i}" for i, a in spans)
        own = " + ".join(f"lt{i}" for i, _ in spans)
        return f"({before})", f"({own})"

    def _columns(self, k: int) -> list[str]:
        n, m = len(self.spec.steps), len(self.spec.exclusions)
        counts = [name for i in range(1, m + 1) for name in (f"le{i}", f"lt{i}")]
        steps = [f"s{i}" for i in range(1, n + 1)]
        return ["who", "t", *self._extra_names(), *steps, *counts, *[f"st{i}" for i in range(1, k)]]

    def _chains(self, params: Params) -> exp.Select:
        """Add st1 … stn: the latest feasible chain start at each event that reaches step k (else NULL)."""
        window_ms = self.spec.window * 1000
        source = self._counted(params) if self.spec.exclusions else self._events(params)
        tree = exp.select("*", parse("CASE WHEN s1 THEN t END").as_("st1")).from_(source.subquery("e"))
        strict = self.spec.order == "strict"
        for k in range(2, len(self.spec.steps) + 1):
            frame = _PREVIOUS_ROW if strict else _BEFORE
            guards = self._guards(k)
            key = f"st{k - 1}" if guards is None else f"st{k - 1} + {guards[0]} * {_SHIFT}"
            columns = [parse(f"max({key}) {_window('t', frame)}").as_("mk")]
            if strict:
                columns.append(parse(f"max(t) {_window('t', frame)}").as_("pt"))
            inner = exp.select("*", *columns).from_(tree.subquery(f"c{k}"))
            start = "mk" if guards is None else f"(mk - {guards[1]} * {_SHIFT})"
            feasible = f"s{k} AND mk IS NOT NULL AND t - {start} <= {window_ms}"
            if guards is not None:
                feasible += f" AND mk >= {guards[1]} * {_SHIFT}"
            if strict:
                feasible += " AND pt < t"
            tree = exp.select(
                *[col(c) for c in self._columns(k)],
                parse(f"CASE WHEN {feasible} THEN {start} END").as_(f"st{k}"),
            ).from_(inner.subquery(f"m{k}"))
        return tree

    def _ordered(self, params: Params) -> exp.Select:
        n = len(self.spec.steps)
        grouped = (
            exp.select(
                "who",
                *self._combined(),
                *[parse(f"min(t - st{k})").as_(f"d{k}") for k in range(1, n + 1)],
            )
            .from_(self._chains(params).subquery("c"))
            .group_by("who")
        )
        # A chain's prefix is a chain: whoever reaches step k reached every step before it.
        reached = " + ".join(f"CASE WHEN d{k} IS NOT NULL THEN 1 ELSE 0 END" for k in range(1, n + 1))
        return exp.select("*", parse(reached).as_("reached")).from_(grouped.subquery("g"))

    def _unordered(self, params: Params) -> exp.Select:
        n = len(self.spec.steps)
        frame = f"RANGE BETWEEN CURRENT ROW AND {self.spec.window * 1000} FOLLOWING"
        done = " + ".join(
            f"max(CASE WHEN s{i} THEN 1 ELSE 0 END) {_window('t', frame)}" for i in range(1, n + 1)
        )
        extra = self._extra_names()
        counted = exp.select("who", *extra, parse(done).as_("k")).from_(self._events(params).subquery("e"))
        return (
            exp.select("who", *self._combined(), parse("max(k)").as_("reached"))
            .from_(counted.subquery("c"))
            .group_by("who")
        )

    def per_person(self, params: Params) -> exp.Select:
        """One row per person who did any step: ``who``, the extra columns, ``reached`` (the furthest step)
        and, ordered and strict, ``d1`` … ``dn`` (the shortest time from step 1 to each step reached, ms)."""
        return self._unordered(params) if self.spec.order == "unordered" else self._ordered(params)

    @property
    def timed(self) -> bool:
        return self.spec.order != "unordered"


def seconds(ms: Any) -> float | None:
    return None if ms is None else round(float(ms) / 1000, 3)
