"""Deterministic, streaming generator of realistic analytics history for the demo products.

The window is cut into 24-hour chunks ending at `end`. For each chunk and product: crawlers first, then the
visitors whose return was scheduled for that day, then new visitors until the product's cumulative event
budget is met. The chunk's events are sorted and yielded; events spilling past the chunk wait for the next,
so at most about one day of events is held in memory (plus the state of the visitors due to come back).
"""

from __future__ import annotations

from bisect import bisect, bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from random import Random
from typing import Any, Generic

from belvedere.demo.aichat import AIChat
from belvedere.demo.catalog import MENTION
from belvedere.demo.propmanager import PropManager
from belvedere.demo.session import BOT_PICK, ProductModel, Profile, Row, V, Writer, payload

PRODUCTS: tuple[str, ...] = ("propmanager", "aichat")

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
GROWTH = 0.35  # traffic at the end of the window relative to its start (+35 %)
MIN_VISIT_GAP_MS = 2 * HOUR_MS  # a returning visit starts at least this long after the previous one ended
START_ATTEMPTS = 4
WARM_SPREAD_DAYS = 7  # accounts existing before the window make their first visit within this many days
THROTTLE_DELAY_DAYS = 3  # a returning visit over the budget is postponed by 1..3 days
# Returning visits may overrun the cumulative budget by this much (part of the day's budget, capped to a part
# of the whole run) before being postponed: spares engaged users the day-to-day noise of small budgets.
THROTTLE_SLACK = (0.5, 0.03)
CRAWL_PAGES_MEAN = 5.0  # pages fetched by one crawl (1 + exponential)
MENTION_MIN_DAYS = 30  # a history this long at least, for the mention to stand out against its past
MENTION_VISITORS_PER_EVENT = 0.2  # the article's visitors, per event of AI Chat's usual day


@dataclass(frozen=True, slots=True)
class DemoEvent:
    """One generated event; `payload` is what a client would POST to the capture endpoint."""

    product: str  # "propmanager" or "aichat"
    timestamp_ms: int  # epoch milliseconds, UTC
    payload: dict[str, object]  # one event in the capture format


@lru_cache(maxsize=64)
def _summer_time(year: int) -> tuple[int, int]:
    """Start and end (epoch ms) of EU summer time: last Sunday of March / October at 01:00 UTC."""

    def last_sunday(month: int) -> int:
        d = datetime(year, month, 31, 1, tzinfo=UTC)
        return int(d.timestamp() * 1000) - ((d.weekday() + 1) % 7) * DAY_MS

    return last_sunday(3), last_sunday(10)


def paris_offset_ms(ms: int) -> int:
    """UTC offset of Europe/Paris at `ms` (no tz database needed)."""
    start, stop = _summer_time(datetime.fromtimestamp(ms / 1000, UTC).year)
    return 2 * HOUR_MS if start <= ms < stop else HOUR_MS


def _slot_weights(profile: Profile, day_start: int, growth: float, shift: int) -> list[float]:
    """Weights of the 24 hours of a chunk: hour of day (in the visitor's time zone) x weekday x growth."""
    out = []
    for i in range(24):
        local = day_start + i * HOUR_MS + paris_offset_ms(day_start + i * HOUR_MS)
        weekday = (local // DAY_MS + 3) % 7  # 1970-01-01 was a Thursday
        out.append(profile.hourly[(local // HOUR_MS + shift) % 24] * profile.weekday[weekday] * growth)
    return out


def _is_weekend(ms: int) -> bool:
    return ((ms + paris_offset_ms(ms)) // DAY_MS + 3) % 7 >= 5


class _Run(Generic[V]):
    """One product's simulation state across days: event budget, scheduled returns, hourly profiles."""

    def __init__(
        self,
        model: ProductModel[V],
        events: float,
        start_ms: int,
        days: int,
        out: list[Row],
        incidents: bool = False,
    ) -> None:
        self.model, self.rng, self.start_ms, self.days = model, model.rng, start_ms, days
        # The day a press article sends AI Chat a crowd of new visitors: the day before the last.
        self.mention_day = (
            days - 2 if incidents and model.name == "aichat" and days >= MENTION_MIN_DAYS else None
        )
        self.writer = Writer(model.rng, model.name, out)
        self.growth = [1.0 + GROWTH * d / max(1, days - 1) for d in range(days)]
        weights = [
            sum(_slot_weights(model.profile, self._day_start(d), self.growth[d], 0)) for d in range(days)
        ]
        self.total = events
        self.targets = [events * w / sum(weights) for w in weights]
        self.schedule: dict[int, list[V]] = {}  # day index -> visitors coming back that day
        self.goal = self.bot_goal = 0.0  # cumulative budgets (humans, crawlers)
        self.emitted = self.bot_emitted = 0
        self._cums: dict[int, list[float]] = {}  # tz shift -> cumulative hourly weights of the current day
        self._day = 0
        self.warm = [0] * WARM_SPREAD_DAYS  # accounts older than the window, by day of their first visit
        for _ in range(round(events / days * model.profile.warm_users)):
            self.warm[self.rng.randrange(WARM_SPREAD_DAYS)] += 1

    def _day_start(self, d: int) -> int:
        return self.start_ms + d * DAY_MS

    def day(self, d: int) -> None:
        model, rng, out = self.model, self.rng, self.writer.out
        profile = model.profile
        self._day, self._cums = d, {}
        day_start = self._day_start(d)
        self.bot_goal += self.targets[d] * profile.bot_share
        while self.bot_emitted < self.bot_goal:
            n = len(out)
            self._crawl(day_start + int(rng.random() * DAY_MS))
            self.bot_emitted += len(out) - n
        self.goal += self.targets[d] * (1.0 - profile.bot_share)
        slack = min(THROTTLE_SLACK[0] * self.targets[d], THROTTLE_SLACK[1] * self.total)
        weights = _slot_weights(profile, day_start, 1.0, 0)
        weekend = sum(w for i, w in enumerate(weights) if _is_weekend(day_start + i * HOUR_MS)) / sum(weights)
        due = self.schedule.pop(d, [])
        if d < WARM_SPREAD_DAYS:
            due += [model.new_visitor(True, self.start_ms) for _ in range(self.warm[d])]
        for v in due:
            n = len(out)
            if self.emitted >= self.goal + slack:
                # The budget is already spent (small budgets, warm start): push the visit back a little.
                self._reschedule(v, d + 1 + int(rng.random() * THROTTLE_DELAY_DAYS))
            elif rng.random() < profile.weekend_skip * weekend:
                self._reschedule(v, d + 1)
            else:
                start = self._start(v)
                if start is None:
                    self._reschedule(v, d + 1)
                else:
                    self._visit(v, start)
            self.emitted += len(out) - n
        while self.emitted < self.goal:
            n = len(out)
            v = model.new_visitor(False, day_start)
            self._visit(v, self._sample_time(v))
            self.emitted += len(out) - n
        if d == self.mention_day:
            self._mention(d)

    def _mention(self, d: int) -> None:
        """New visitors from the article, on top of the day's budget, from its publication (13:00 UTC)
        into the evening."""
        model = self.model
        model.forced_source = MENTION
        try:
            for _ in range(round(self.targets[d] * MENTION_VISITORS_PER_EVENT)):
                v = model.new_visitor(False, self._day_start(d))
                self._visit(v, self._day_start(d) + 13 * HOUR_MS + int(self.rng.random() * 8 * HOUR_MS))
        finally:
            model.forced_source = None

    def _visit(self, v: V, start: int) -> None:
        self.model.visit(self.writer, v, start)
        gap = self.model.next_gap(v)
        if gap is not None:
            self._reschedule(v, self._day + gap)

    def _reschedule(self, v: V, d: int) -> None:
        if d < self.days:
            self.schedule.setdefault(d, []).append(v)

    def _sample_time(self, v: V) -> int:
        """A time in the current day following the hourly profile of the visitor's time zone."""
        rng = self.rng
        shift = v.country.tz_shift
        cum = self._cums.get(shift)
        if cum is None:
            cum = self._cums[shift] = []
            total = 0.0
            for w in _slot_weights(self.model.profile, self._day_start(self._day), 1.0, shift):
                total += w
                cum.append(total)
        hour = bisect(cum, rng.random() * cum[-1])
        return self._day_start(self._day) + hour * HOUR_MS + int(rng.random() * HOUR_MS)

    def _start(self, v: V) -> int | None:
        """Start of a returning visit, well after the previous one ended; None if the day has no room left."""
        earliest = v.last_ms + MIN_VISIT_GAP_MS
        for _ in range(START_ATTEMPTS):
            t = self._sample_time(v)
            if t >= earliest:
                return t
        t = earliest + int(self.rng.random() * 3 * HOUR_MS)
        return t if t < self._day_start(self._day + 1) else None

    def _crawl(self, start: int) -> None:
        rng, w = self.rng, self.writer
        w.begin_bot(BOT_PICK.pick(rng), start)
        for _ in range(1 + int(rng.expovariate(1.0 / CRAWL_PAGES_MEAN))):
            w.bot_page(*self.model.crawl_target())


def generate(
    *,
    seed: int = 42,
    events: int = 200_000,
    end: datetime | None = None,
    days: int = 90,
    products: tuple[str, ...] = PRODUCTS,
    incidents: bool = False,
) -> Iterator[DemoEvent]:
    """About `events` events (±10%) spread over the `days` days ending at `end` (default: now, UTC,
    timezone-aware), across the given products, yielded in non-decreasing timestamp order.
    With `incidents`, AI Chat is written about in the press the day before the last (a crowd of new
    visitors from one article, for the insight feed to find); the benchmarks' data has none.
    Same arguments → identical output."""
    if days < 1:
        raise ValueError("days must be >= 1")
    if events < 0:
        raise ValueError("events must be >= 0")
    unknown = [p for p in products if p not in PRODUCTS]
    if unknown or not products or len(set(products)) != len(products):
        raise ValueError(f"products must be distinct names among {PRODUCTS}, got {products!r}")
    if end is None:
        end = datetime.now(UTC)
    elif end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    end_ms = int(end.timestamp() * 1000)
    return _stream(seed, events, end_ms, days, products, incidents)


def _new_model(product: str, rng: Random) -> ProductModel[Any]:
    return PropManager(rng) if product == "propmanager" else AIChat(rng)


def _stream(
    seed: int, events: int, end_ms: int, days: int, products: tuple[str, ...], incidents: bool
) -> Iterator[DemoEvent]:
    start_ms = end_ms - days * DAY_MS
    buf: list[Row] = []
    chosen = [_new_model(p, Random(f"belvedere-demo:{seed}:{p}")) for p in PRODUCTS if p in products]
    share = sum(m.profile.share for m in chosen)
    runs: list[_Run[Any]] = []
    if events:
        runs = [_Run(m, events * m.profile.share / share, start_ms, days, buf, incidents) for m in chosen]
    by_time = itemgetter(0)
    for d in range(days if runs else 0):
        for run in runs:
            run.day(d)
        buf.sort(key=by_time)
        cut = start_ms + (d + 1) * DAY_MS if d + 1 < days else end_ms + 1
        n = bisect_left(buf, cut, key=by_time)
        for row in buf[:n]:
            yield DemoEvent(row[1], row[0], payload(row))
        del buf[: len(buf) if d + 1 == days else n]
