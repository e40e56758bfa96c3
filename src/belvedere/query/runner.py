"""Every insight kind is declared once, by its runner: the spec it reads (``spec_model``), the answer it
gives (``result_model``), the plan feature it needs and the gate lane it runs in. Runners are found through
a registry by ``kind``; the API's request and response schemas, the pages and the dashboards all come from
that registry (``query.kinds``).

The base runner owns what all kinds share: the project's time zone and date range, compiling and running
SQL (always through the scoping compiler) and caching results by (project, normalised query, watermark).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlglot import exp

from belvedere.platform import tracing
from belvedere.query.cache import LruCache, QueryCache
from belvedere.query.compiled import compile_once, compile_ranged
from belvedere.query.dates import (
    CompareTo,
    DateRange,
    Interval,
    bucket,
    check_date_text,
    local_time,
    periods_since,
    resolve_range,
)
from belvedere.query.fields import MAX_FILTERS, Filter, conditions
from belvedere.query.gate import Lane
from belvedere.query.person_hours import HourRange
from belvedere.query.sql import PERSON_KEY, Params, col, compile_query, fn, through_aliases
from belvedere.store.base import CompiledQuery, Dialect, QueryTimedOut

# A statement a runner compiles: the part of its answer it is, and how to build it.
Statement = tuple[Hashable, Callable[[], tuple[exp.Expr, Params]]]


class QueryError(ValueError):
    """A query that is valid in form but cannot be answered (a failing user SQL, a refused table)."""


class QueryStore(Protocol):
    """What the query layer needs of an event store."""

    dialect: Dialect

    def fetch(self, query: CompiledQuery) -> list[tuple[Any, ...]]: ...

    def fetch_table(self, query: CompiledQuery) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def watermark(self, project_id: int) -> int: ...


class QuerySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str

    def time_limit(self) -> float | None:
        """The spec's own time limit in seconds, if it sets one (user SQL does)."""
        return None


class QueryMeta(BaseModel):
    sql_ms: float = Field(description="Time spent in the engine, in milliseconds (0 when cached).")
    cached: bool
    timezone: str = Field(description="The project's time zone, in which dates and buckets are given.")


class QueryResult(BaseModel):
    """An answer. Parts that do not apply to a question (a formula, a comparison, a goal) are left unset,
    and answers leave unset parts out (``answer``), so a client only sees what it asked for."""

    model_config = ConfigDict(extra="forbid")
    kind: str
    meta: QueryMeta | None = None

    def model_post_init(self, context: Any, /) -> None:
        self.__pydantic_fields_set__.add("kind")  # always named, though each kind defaults it

    def answer(self) -> bytes:
        """The answer as JSON, as the API sends it."""
        return self.__pydantic_serializer__.to_json(self, exclude_unset=True)

    def as_dict(self) -> dict[str, Any]:
        """The answer as JSON-like Python values (what ``answer`` encodes)."""
        return self.model_dump(mode="json", exclude_unset=True)


class DatedQuery(QuerySpec):
    date_from: str = Field("-7d", description="ISO date/datetime or relative: -7d, -4w, -12m, today, mtd…")
    date_to: str | None = Field(None, description="Inclusive end date (default: today).")
    interval: Interval = "day"
    filters: list[Filter] = Field(
        default_factory=list, max_length=MAX_FILTERS, description="Every filter must hold (AND)."
    )
    approximate: bool = Field(False, description="Count distinct users/visits with HyperLogLog (faster).")

    _check_dates = field_validator("date_from", "date_to")(
        classmethod(lambda cls, v: v if v is None else check_date_text(v))
    )


class ComparedQuery(DatedQuery):
    """A dated query that can show another period beside its own."""

    compare_to: CompareTo = Field(
        "previous_period",
        description="With compare: the period just before this one (previous_period), or the same dates a"
        " year earlier (previous_year).",
    )


@dataclass(slots=True)
class QueryContext:
    project_id: int
    timezone: str
    store: QueryStore
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    sql_ms: float = 0.0
    # When the answer is due (``time.monotonic()``): every statement gets what is left of it.
    deadline: float | None = None
    # Figures that one kind computes and another needs too (``DatedRunner.recall``), kept beside the answers
    # under the same data watermark; None when answers are not cached.
    shared: LruCache[Hashable, Any] | None = None
    watermark: int | None = None
    background: bool = False  # the store lets interactive queries go first (``store.turns``)

    def in_time(self, compiled: CompiledQuery) -> CompiledQuery:
        """``compiled`` limited to the time left before the deadline; ``QueryTimedOut`` if none is."""
        if self.background:
            compiled = replace(compiled, background=True)
        if self.deadline is None:
            return compiled
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise QueryTimedOut("the query ran out of time")
        return replace(compiled, timeout_seconds=left)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


S = TypeVar("S", bound=QuerySpec)


class QueryRunner(Generic[S]):
    kind: ClassVar[str]
    spec_model: ClassVar[type[QuerySpec]]
    result_model: ClassVar[type[QueryResult]]
    feature: ClassVar[str | None] = None  # the plan feature the kind needs, if any
    lane: ClassVar[Lane] = "insights"  # the gate's lane it waits in (``query.gate``)
    cacheable: ClassVar[bool] = True

    def __init__(self, spec: S, ctx: QueryContext) -> None:
        self.spec = spec
        self.ctx = ctx

    def calculate(self) -> QueryResult:
        raise NotImplementedError

    def cache_scope(self) -> str:
        """What besides the spec decides the answer (the resolved range, for relative dates)."""
        return ""

    # ------------------------------------------------------------------ helpers for the kinds

    def fetch(self, tree: exp.Expr, params: Params) -> list[tuple[Any, ...]]:
        compiled = compile_query(
            tree, params=params, project_id=self.ctx.project_id, dialect=self.ctx.store.dialect
        )
        return self.fetch_compiled(compiled)

    def fetch_built(
        self, part: Hashable, build: Callable[[], tuple[exp.Expr, Params]]
    ) -> list[tuple[Any, ...]]:
        """``fetch`` for a statement that the spec, the resolved range, the zone and ``part`` decide alone
        (not the data, nor the time beyond the range): built and printed once per process, so a dashboard
        asked again after new events only runs its SQL (breakdown by page: 39 ms of Python saved)."""
        key = (self.kind, self.spec.model_dump_json(), self.cache_scope(), self.ctx.timezone, part)
        compiled = compile_once(key, build, project_id=self.ctx.project_id, dialect=self.ctx.store.dialect)
        return self.fetch_compiled(compiled)

    def fetch_compiled(self, compiled: CompiledQuery) -> list[tuple[Any, ...]]:
        """Run a statement the compiler made (``compile_query`` or ``compile_shaped``), timing its SQL."""
        compiled = self.ctx.in_time(compiled)
        started = time.perf_counter()
        with tracing.span("store.fetch", {"db.system": compiled.dialect}) as current:
            rows = self.ctx.store.fetch(compiled)
            current.set_attribute("rows", len(rows))
        self.ctx.sql_ms += (time.perf_counter() - started) * 1000
        return rows


D = TypeVar("D", bound=DatedQuery)


class DatedRunner(QueryRunner[D]):
    """A runner over a date range with event filters."""

    def __init__(self, spec: D, ctx: QueryContext) -> None:
        super().__init__(spec, ctx)
        self.range = resolve_range(spec.date_from, spec.date_to, ctx.tz, ctx.now)

    def cache_scope(self) -> str:
        return f"{self.range.start.isoformat()}/{self.range.end.isoformat()}"

    def fetch_ranged(
        self, part: Hashable, build: Callable[[], tuple[exp.Expr, Params]], rng: DateRange
    ) -> list[tuple[Any, ...]]:
        """``fetch_built`` for a statement whose text ``rng`` does not decide: only the values bound for its
        start and end (``compile_ranged``). Built and printed once per process for every range — and before
        the first page asks it, when the server warms its statements (``warm``)."""
        return self.fetch_compiled(self.compile_ranged(part, build, rng))

    def compile_ranged(
        self, part: Hashable, build: Callable[[], tuple[exp.Expr, Params]], rng: DateRange
    ) -> CompiledQuery:
        spec = self.spec.model_dump_json(exclude={"date_from", "date_to"})
        # Ranges whose people the person hours count have statements of their own, and cut ranges others.
        hours = self.hours(rng, cut=True)
        by_hours = None if hours is None else hours.cut
        return compile_ranged(
            (self.kind, spec, self.ctx.timezone, part, by_hours),
            build,
            start=rng.start,
            end=rng.end,
            project_id=self.ctx.project_id,
            dialect=self.ctx.store.dialect,
        )

    def statements(self) -> list[Statement]:
        """The (part, build) of the statements ``calculate`` compiles with ``compile_ranged`` for this spec,
        which ``warm`` compiles ahead (none unless the kind says)."""
        return []

    def warm(self) -> int:
        """Compile this spec's range-free statements without running anything; how many there are."""
        found = self.statements()
        for part, build in found:
            self.compile_ranged(part, build, self.range)
        return len(found)

    def _shared_key(self, name: str, rng: DateRange) -> Hashable | None:
        if self.ctx.shared is None or self.ctx.watermark is None:
            return None
        filters = tuple(f.model_dump_json() for f in self.spec.filters)
        where = (rng.start, rng.end, filters, self.spec.approximate)
        return (self.ctx.project_id, name, where, self.ctx.watermark)

    def remember(self, name: str, rng: DateRange, value: Any) -> None:
        """Keep a figure of ``rng`` under this spec's filters (``recall``): what decides it is in its key."""
        key = self._shared_key(name, rng)
        if key is not None and self.ctx.shared is not None:
            self.ctx.shared.put(key, value)

    def recall(self, name: str, rng: DateRange) -> Any:
        """A figure another kind computed for the same range, filters and data (None if none did): the
        period's visitors, which the overview's key figures count and its goals panel divides by."""
        key = self._shared_key(name, rng)
        return None if key is None or self.ctx.shared is None else self.ctx.shared.get(key)

    def where(
        self, params: Params, rng: DateRange | None = None, *, table: str | None = None
    ) -> list[exp.Expr]:
        """The time range and the spec's filters, as conditions on the events table."""
        rng = rng or self.range
        ts = col("timestamp", table)
        return [
            exp.GTE(this=ts, expression=params.bind(rng.start)),
            exp.LT(this=ts.copy(), expression=params.bind(rng.end)),
            *conditions(self.spec.filters, params, table),
        ]

    def local_ts(
        self,
        params: Params,
        rng: DateRange | None = None,
        table: str | None = None,
        *,
        ts_column: exp.Expr | None = None,
    ) -> exp.Expr:
        """The event time (or ``ts_column``) in the project's zone, exact for instants around ``rng``."""
        rng = rng or self.range
        return local_time(ts_column or col("timestamp", table), self.ctx.tz, _padded(rng), params)

    def bucket_index(
        self,
        params: Params,
        ts: exp.Expr,
        origin: datetime,
        interval: Literal["day", "week", "month"],
        rng: DateRange,
    ) -> exp.Expr:
        """How many buckets of the project's zone the bucket of ``ts`` (an instant around ``rng``, from one
        bucket before ``origin`` on) lies after the bucket starting at ``origin``: days and weeks by
        arithmetic on milliseconds (``periods_since``), months (of unequal lengths) between truncated
        local times."""
        if interval == "month":
            local = self.local_ts(params, rng, ts_column=ts)
            return fn("diff_months", params.bind(origin), bucket(local, "month"))
        return periods_since(ts, origin, interval, self.ctx.tz, _padded(rng), params)

    @property
    def uniq(self) -> str:
        """The logical distinct-count function to write in SQL fragments: exact, or HLL when asked."""
        return "bv_uniq_approx" if self.spec.approximate else "bv_uniq_exact"

    def hours(self, rng: DateRange | None = None, *, cut: bool = False) -> HourRange | None:
        """The range, when the person hours can count its people (see ``query.person_hours``); with
        ``cut``, also one that ends off the hour (for ``HourRange.people`` alone)."""
        filtered = bool(self.spec.filters)
        return HourRange.of(rng or self.range, dialect=self.ctx.store.dialect, filtered=filtered, cut=cut)

    def visitors(self, params: Params, rng: DateRange, where: exp.Expr) -> exp.Select:
        """``SELECT <distinct people> AS visitors`` of the range's events, ``where`` being its conditions on
        them: from the person hours when they can say (``hours``), else as ``people`` counts them."""
        hours = self.hours(rng, cut=True)
        return self.people(where) if hours is None else hours.people(params)

    def people(self, where: exp.Expr, name: str = "visitors") -> exp.Select:
        """``SELECT <distinct people> AS name`` of the events matching ``where``: the stored ids are made
        distinct first (by their 64-bit keys, ``PERSON_KEY``), and only those are read through the alias
        links."""
        rows = exp.select(col(PERSON_KEY).as_("who")).distinct().from_("events").where(where)
        base, person = through_aliases(rows, keyed=True)
        return base.select(exp.Anonymous(this=self.uniq, expressions=[person]).as_(name))


REGISTRY: dict[str, type[QueryRunner[Any]]] = {}

R = TypeVar("R", bound=type[QueryRunner[Any]])


def register(runner: R) -> R:
    """Declare a kind: its name is its spec's ``kind``, and its result names the same kind."""
    kind = runner.spec_model.model_fields["kind"].default
    if runner.result_model.model_fields["kind"].default != kind:
        raise RuntimeError(f"{runner.__name__}: its spec and its result name different kinds")
    if kind in REGISTRY:
        raise RuntimeError(f"two runners for kind {kind!r}")
    runner.kind = kind
    REGISTRY[kind] = runner
    return runner


def runner_of(kind: object) -> type[QueryRunner[Any]] | None:
    return REGISTRY.get(kind) if isinstance(kind, str) else None


def spec_models() -> Sequence[type[QuerySpec]]:
    return [runner.spec_model for runner in REGISTRY.values()]


def result_models() -> Sequence[type[QueryResult]]:
    return [runner.result_model for runner in REGISTRY.values()]


class QueryService:
    """Parses, runs and caches queries for one event store."""

    def __init__(
        self,
        store: QueryStore,
        cache: QueryCache | None = None,
        *,
        time_limit_seconds: float = 30.0,
        on_answer: Callable[[str, bool, float], None] | None = None,
    ) -> None:
        """``on_answer(kind, cached, seconds)``: told of every answer (the server's query metrics)."""
        self.store = store
        self.on_answer = on_answer
        self.cache = cache if cache is not None else QueryCache()
        self.time_limit_seconds = time_limit_seconds
        # Figures shared between kinds (``QueryContext.shared``): kept only where answers are.
        self.shared: LruCache[Hashable, Any] | None = LruCache(256) if self.cache.max_entries > 0 else None

    def time_limit(self, spec: QuerySpec) -> float:
        """How long ``spec`` may take, waiting for its turn included."""
        own = spec.time_limit()
        return min(own, self.time_limit_seconds) if own is not None else self.time_limit_seconds

    def run(
        self,
        spec: QuerySpec,
        *,
        project_id: int,
        timezone: str,
        now: datetime | None = None,
        deadline: float | None = None,
        background: bool = False,
    ) -> QueryResult:
        """The answer to ``spec``, due by ``deadline`` (``time.monotonic()``; default: its time limit from
        now). ``QueryTimedOut`` when it is not ready by then."""
        attributes = {"query.kind": spec.kind, "project_id": project_id}
        started = time.perf_counter()
        with tracing.span("query", attributes) as current:
            result = self._run(spec, project_id, timezone, now, deadline, background)
            cached = result.meta is not None and result.meta.cached
            current.set_attribute("cached", cached)
        if self.on_answer is not None:
            self.on_answer(spec.kind, cached, time.perf_counter() - started)
        return result

    def _run(
        self,
        spec: QuerySpec,
        project_id: int,
        timezone: str,
        now: datetime | None,
        deadline: float | None,
        background: bool,
    ) -> QueryResult:
        if deadline is None:
            deadline = time.monotonic() + self.time_limit(spec)
        ctx = QueryContext(
            project_id=project_id,
            timezone=timezone,
            store=self.store,
            deadline=deadline,
            background=background,
        )
        if now is not None:
            ctx.now = now
        runner = REGISTRY[spec.kind](spec, ctx)
        key = None
        if runner.cacheable:
            watermark = self.store.watermark(project_id)
            ctx.shared, ctx.watermark = self.shared, watermark
            key = (project_id, f"{spec.model_dump_json()}|{runner.cache_scope()}|{timezone}", watermark)
            hit: QueryResult | None = self.cache.get(key)
            if hit is not None:
                meta = QueryMeta(sql_ms=0.0, cached=True, timezone=timezone)
                return hit.model_copy(update={"meta": meta})
        result = runner.calculate()
        result.meta = QueryMeta(sql_ms=round(ctx.sql_ms, 3), cached=False, timezone=timezone)
        if key is not None:
            self.cache.put(key, result)
        return result


def _padded(rng: DateRange) -> DateRange:
    """``rng`` a day wider on each side: the zone's offsets then hold for instants around it."""
    return DateRange(rng.start - timedelta(days=1), rng.end + timedelta(days=1), rng.tz)
