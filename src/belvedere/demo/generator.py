"""Deterministic, streaming generator of realistic analytics history for the demo products.

The window is cut into 24-hour chunks ending at `end`. For each chunk and product: crawlers first, then the
visitors whose return was scheduled for that day, then new visitors until the product's cumulative event
budget is met. The chunk's events are sorted and yielded; events spilling past the chunk wait for the next.
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
from belvedere.demo.propmanager import PropManager
from belvedere.demo.session import BOT_PICK, ProductModel, Profile, Row, V, Writer

PRODUCTS: tuple[str, ...] = ("propmanager", "aichat")

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
GROWTH = 0.35  # traffic at the end of the window relative to its start (+35 %)
MIN_VISIT_GAP_MS = 45 * 60_000  # a visit starts at least this long after the visitor's previous one ended
START_ATTEMPTS = 4
WARM_SPREAD_DAYS = 7  # accounts existing before the window make their first visit within this many days


@dataclass(frozen=True, slots=True)
class DemoEvent:
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


class _Run(Generic[V]):
    """One product's simulation state across days."""

    def __init__(self, model: ProductModel[V], events: float, start_ms: int, days: int, out: list[Row]) -> None:
        self.model, self.rng, self.start_ms, self.days = model, model.rng, start_ms, days
        self.writer = Writer(model.rng, model.name, out)
        self.growth = [1.0 + GROWTH * d / max(1, days - 1) for d in range(days)]
        day_weights = [sum(_slot_weights(model.profile, start_ms + d * DAY_MS, self.growth[d], 0)) for d in range(days)]
        total = sum(day_weights)
        self.targets = [events * w / total for w in day_weights]
        self.schedule: dict[int, list[V]] = {}
        self.goal = 0.0
        self.emitted = 0
        for _ in range(round(events / days * model.profile.warm_users)):
            v = model.new_visitor(True, start_ms)
            self.schedule.setdefault(self.rng.randrange(min(days, WARM_SPREAD_DAYS)), []).append(v)

    def day(self, d: int) -> None:
        model, rng, out = self.model, self.rng, self.writer.out
        day_start = self.start_ms + d * DAY_MS
        cums: dict[int, list[float]] = {}
        self.goal += self.targets[d]
        before = len(out)
        weights = _slot_weights(model.profile, day_start, self.growth[d], 0)
        bot_goal = len(out) + self.targets[d] * model.profile.bot_share
        while len(out) < bot_goal:
            self._crawl(day_start + int(rng.random() * DAY_MS))
        weekend = sum(w for i, w in enumerate(weights) if self._is_weekend(day_start + i * HOUR_MS)) / sum(weights)
        skip = model.profile.weekend_skip * weekend
        for v in self.schedule.pop(d, []):
            start = None if rng.random() < skip else self._start(v, day_start, cums)
            if start is None:
                if d + 1 < self.days:
                    self.schedule.setdefault(d + 1, []).append(v)
                continue
            self._visit(v, d, start)
        self.emitted += len(out) - before
        while self.emitted < self.goal:
            before = len(out)
            v = model.new_visitor(False, day_start)
            start = self._start(v, day_start, cums)
            assert start is not None
            self._visit(v, d, start)
            self.emitted += len(out) - before

    def _visit(self, v: V, d: int, start: int) -> None:
        self.model.visit(self.writer, v, start)
        gap = self.model.next_gap(v)
        if gap is not None and d + gap < self.days:
            self.schedule.setdefault(d + gap, []).append(v)

    def _start(self, v: V, day_start: int, cums: dict[int, list[float]]) -> int | None:
        """Start of the visit in this chunk, following the hourly profile of the visitor's time zone."""
        rng = self.rng
        shift = v.country.tz_shift
        cum = cums.get(shift)
        if cum is None:
            cum = cums[shift] = []
            total = 0.0
            for w in _slot_weights(self.model.profile, day_start, 1.0, shift):
                total += w
                cum.append(total)
        earliest = v.last_ms + MIN_VISIT_GAP_MS if v.last_ms else 0
        for _ in range(START_ATTEMPTS):
            t = day_start + bisect(cum, rng.random() * cum[-1]) * HOUR_MS + rng.randrange(HOUR_MS)
            if t >= earliest:
                return t
        t = earliest + rng.randrange(3 * HOUR_MS)
        return t if t < day_start + DAY_MS else None

    def _crawl(self, start: int) -> None:
        rng, w = self.rng, self.writer
        w.begin_bot(BOT_PICK.pick(rng), start)
        for _ in range(1 + int(rng.expovariate(0.2))):
            w.bot_page(*self.model.crawl_target())

    @staticmethod
    def _is_weekend(ms: int) -> bool:
        return ((ms + paris_offset_ms(ms)) // DAY_MS + 3) % 7 >= 5


def generate(
    *,
    seed: int = 42,
    events: int = 200_000,
    end: datetime | None = None,
    days: int = 90,
    products: tuple[str, ...] = PRODUCTS,
) -> Iterator[DemoEvent]:
    """About `events` events (±10%) spread over the `days` days ending at `end` (default: now, UTC,
    timezone-aware), across the given products, yielded in non-decreasing timestamp order.
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
    return _stream(seed, events, end_ms, days, products)


def _new_model(product: str, rng: Random) -> ProductModel[Any]:
    return PropManager(rng) if product == "propmanager" else AIChat(rng)


def _stream(seed: int, events: int, end_ms: int, days: int, products: tuple[str, ...]) -> Iterator[DemoEvent]:
    start_ms = end_ms - days * DAY_MS
    buf: list[Row] = []
    chosen = [_new_model(p, Random(f"belvedere-demo:{seed}:{p}")) for p in PRODUCTS if p in products]
    share = sum(m.profile.share for m in chosen)
    runs: list[_Run[Any]] = []
    if events:
        runs = [_Run(m, events * m.profile.share / share, start_ms, days, buf) for m in chosen]
    by_time = itemgetter(0)
    for d in range(days if runs else 0):
        for run in runs:
            run.day(d)
        buf.sort(key=by_time)
        cut = start_ms + (d + 1) * DAY_MS if d + 1 < days else end_ms + 1
        n = bisect_left(buf, cut, key=by_time)
        for ts, product, payload in buf[:n]:
            yield DemoEvent(product, ts, payload)
        del buf[: len(buf) if d + 1 == days else n]
