"""Visitors, the per-visit event writer and the interface every demo product implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from bisect import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from math import exp
from random import Random
from typing import Generic, Self, TypeVar

from belvedere.demo.catalog import (
    BOTS,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    DEVICE_KIND_WEIGHTS,
    DEVICES,
    Bot,
    Country,
    Device,
    Source,
    parse_blocks,
)

T = TypeVar("T")
# One buffered event: timestamp ms, product, type, event name ("" if none), distinct_id, uuid, properties,
# then the context: ip, user agent, url, referrer, title, locale, screen.
Row = tuple[int, str, str, str, str, str, dict[str, object], str, str, str, str, str, str, str]

# Think time between two actions of a human within a visit: lognormal, clipped to [5 s, 4 min].
GAP_MEDIAN_MS = 25_000
GAP_SIGMA = 0.95
GAP_MIN_MS = 5_000
GAP_MAX_MS = 240_000
# Probability that a device shows up with a new IP address at the start of a visit.
P_IP_CHANGE: dict[str, float] = {"mobile": 0.5, "tablet": 0.1, "desktop": 0.05}
P_ON_CELLULAR = 0.6  # a mobile device's new address comes from a mobile-network block
P_USE_SECOND_DEVICE = 0.35  # known users owning two devices use the second one this often
BOT_GAP_MS = (800, 12_000)  # crawlers fetch pages much faster than humans
GCLID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class Weighted(Generic[T]):
    """Weighted random choice with precomputed cumulative weights (faster than random.choices)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, pairs: Iterable[tuple[T, float]]) -> None:
        self._items: list[T] = []
        self._cum: list[float] = []
        total = 0.0
        for item, weight in pairs:
            total += weight
            self._items.append(item)
            self._cum.append(total)
        self._total = total

    def pick(self, rng: Random) -> T:
        return self._items[bisect(self._cum, rng.random() * self._total)]


_UUID_KEEP = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_SET = (0x8000 << 48) | (4 << 76)


def new_uuid(rng: Random) -> str:
    """Random (version 4) UUID string drawn from `rng`; same value as str(uuid.UUID(int=..., version=4))."""
    h = f"{(rng.getrandbits(128) & _UUID_KEEP) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def iso_date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def lognormal(rng: Random, median: float, sigma: float) -> float:
    return median * exp(rng.gauss(0.0, sigma))


def return_gap_days(
    rng: Random, *, base: float, decay: float, floor: float, mean: float, visits: int
) -> int | None:
    """Days until a visitor comes back (None: never), with a return chance that decays with each visit."""
    if rng.random() >= max(floor, base * decay ** max(0, visits - 1)):
        return None
    return 1 + int(rng.expovariate(1.0 / (mean - 1.0)))


def random_ip(rng: Random, blocks: tuple[tuple[int, int], ...]) -> str:
    rand = rng.random
    base, n24 = blocks[int(rand() * len(blocks))]
    x = base + (int(rand() * n24) << 8) + 1 + int(rand() * 254)
    return f"{x >> 24}.{(x >> 16) & 255}.{(x >> 8) & 255}.{x & 255}"


_FIXED = {c.code: parse_blocks(c.blocks) for c in COUNTRIES.values()}
_MOBILE = {c.code: parse_blocks(c.mobile_blocks) for c in COUNTRIES.values()}
_BOT_BLOCKS = {bot: parse_blocks(bot.blocks) for bot in BOTS}
BOT_PICK = Weighted((bot, bot.weight) for bot in BOTS)
_COUNTRY_PICK = {p: Weighted((COUNTRIES[c], w) for c, w in ws.items()) for p, ws in COUNTRY_WEIGHTS.items()}
_KIND_PICK = {p: Weighted(ws.items()) for p, ws in DEVICE_KIND_WEIGHTS.items()}
_DEVICE_PICK = {
    k: Weighted((d, d.weight) for d in DEVICES if d.kind == k) for k in ("desktop", "mobile", "tablet")
}


def _device_ip(rng: Random, country: Country, device: Device) -> str:
    if device.kind == "mobile" and rng.random() < P_ON_CELLULAR:
        return random_ip(rng, _MOBILE[country.code])
    return random_ip(rng, _FIXED[country.code])


@dataclass(slots=True, eq=False)
class Visitor:
    """One person (browser cookie, later an account). Products subclass it to add their own state."""

    anon_id: str = ""
    country: Country = COUNTRIES["FR"]
    locale: str = "fr-FR"
    devices: list[Device] = field(default_factory=list)
    screens: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    user_id: str | None = None
    visits: int = 0
    last_ms: int = 0

    @classmethod
    def spawn(cls, rng: Random, product: str) -> Self:
        v = cls()
        v.anon_id = f"anon-{rng.getrandbits(64):016x}"
        v.country = _COUNTRY_PICK[product].pick(rng)
        v.locale = v.country.locales[rng.randrange(len(v.country.locales))]
        v.add_device(rng, _KIND_PICK[product].pick(rng))
        return v

    def add_device(self, rng: Random, kind: str) -> None:
        device = _DEVICE_PICK[kind].pick(rng)
        self.devices.append(device)
        self.screens.append(device.screens[rng.randrange(len(device.screens))])
        self.ips.append(_device_ip(rng, self.country, device))

    @property
    def distinct_id(self) -> str:
        return self.user_id or self.anon_id


class Writer:
    """Builds the capture payloads of one visit at a time and appends them to `out` (one day's buffer)."""

    def __init__(self, rng: Random, product: str, out: list[Row]) -> None:
        self.rng = rng
        self.product = product
        self.out = out
        self.now = 0
        self.visitor = Visitor()
        self._ip = self._ua = self._screen = self._locale = ""
        self._url = self._title = self._referrer = self._query = ""

    def think(self) -> int:
        gap = int(lognormal(self.rng, GAP_MEDIAN_MS, GAP_SIGMA))
        return GAP_MIN_MS if gap < GAP_MIN_MS else GAP_MAX_MS if gap > GAP_MAX_MS else gap

    def begin(self, v: Visitor, start_ms: int, source: Source) -> None:
        """Start a visit: pick the device and address used this time and the traffic source of the landing."""
        rng = self.rng
        self.visitor = v
        self.now = start_ms
        i = 1 if len(v.devices) > 1 and rng.random() < P_USE_SECOND_DEVICE else 0
        device = v.devices[i]
        if v.visits and rng.random() < P_IP_CHANGE[device.kind]:
            v.ips[i] = _device_ip(rng, v.country, device)
        self._ip, self._ua, self._screen, self._locale = v.ips[i], device.user_agent, v.screens[i], v.locale
        self._url = ""
        self._referrer = source.referrers[rng.randrange(len(source.referrers))]
        self._query = ""
        if source.utm:
            campaign = source.campaigns[rng.randrange(len(source.campaigns))]
            gclid = "Cj0KCQ" + "".join(rng.choices(GCLID_ALPHABET, k=40))
            self._query = "?" + source.utm.format(campaign=campaign, gclid=gclid)

    def begin_bot(self, bot: Bot, start_ms: int) -> None:
        """Start a crawl: crawlers keep no cookie, so every crawl gets a fresh anonymous id."""
        rng = self.rng
        self.visitor = Visitor(anon_id=f"anon-{rng.getrandbits(64):016x}")
        self.now = start_ms
        self._ip, self._ua = random_ip(rng, _BOT_BLOCKS[bot]), bot.user_agent
        self._screen, self._locale = bot.screen, "en-US"
        self._url = self._referrer = self._query = ""

    def bot_page(self, host: str, path: str, title: str) -> None:
        if self._url:
            self.now += self.rng.randint(*BOT_GAP_MS)
        self._url, self._title = f"https://{host}{path}", title
        self._emit("page", "", {"path": path})

    def page(self, host: str, path: str, title: str) -> None:
        """A pageview; the first one of a visit carries the source's referrer and UTM parameters."""
        if self._url:
            self.now += self.think()
            self._referrer = self._url
            self._url = f"https://{host}{path}"
        else:
            self._url = f"https://{host}{path}{self._query}"
        self._title = title
        self._emit("page", "", {"path": path})

    def track(self, event: str, properties: dict[str, object], delay_ms: int | None = None) -> None:
        self.now += self.think() if delay_ms is None else delay_ms
        self._emit("track", event, properties)

    def sign_up(self, user_id: str, traits: dict[str, object]) -> None:
        """The sign-up form is sent: alias the anonymous id to the new account, then identify it."""
        v = self.visitor
        anon = v.anon_id
        v.user_id = user_id
        self.now += self.think()
        self._emit("alias", "", {"alias": anon})
        self.now += self.rng.randint(20, 400)
        self._emit("identify", "", traits)

    def finish(self) -> None:
        v = self.visitor
        v.visits += 1
        v.last_ms = self.now

    def _emit(self, kind: str, event: str, properties: dict[str, object]) -> None:
        # Buffered as a flat tuple until yielded (see payload()): cheaper to hold and to garbage-collect.
        v, uid = self.visitor, new_uuid(self.rng)
        context = (self._ip, self._ua, self._url, self._referrer, self._title, self._locale, self._screen)
        self.out.append((self.now, self.product, kind, event, v.distinct_id, uid, properties, *context))


def payload(row: Row) -> dict[str, object]:
    """The capture-format payload of a buffered event."""
    ts, _, kind, event, distinct_id, uid, properties, ip, ua, url, referrer, title, locale, screen = row
    out: dict[str, object] = {"type": kind, "event": event} if event else {"type": kind}
    out["distinct_id"] = distinct_id
    out["uuid"] = uid
    out["timestamp"] = ts
    out["properties"] = properties
    out["context"] = {
        "ip": ip,
        "user_agent": ua,
        "page": {"url": url, "referrer": referrer, "title": title},
        "locale": locale,
        "screen": screen,
    }
    return out


@dataclass(frozen=True, slots=True)
class Profile:
    """Traffic shape of a product (all relative weights)."""

    share: float  # part of the requested events
    weekday: tuple[float, ...]  # Monday..Sunday
    hourly: tuple[float, ...]  # 24 local hours
    weekend_skip: float  # chance a returning visit due on a weekend is postponed to the next day
    warm_users: float  # accounts existing before the window, per average daily event
    bot_share: float  # part of the events made by crawlers


V = TypeVar("V", bound=Visitor)


class ProductModel(ABC, Generic[V]):
    """Behaviour of one product: who visits, what they do, when they come back."""

    name: str
    profile: Profile

    def __init__(self, rng: Random) -> None:
        self.rng = rng
        # Where new visitors come from while an incident forces it (generator: a press mention).
        self.forced_source: Source | None = None

    @abstractmethod
    def new_visitor(self, existing: bool, now_ms: int) -> V:
        """A first-time anonymous visitor, or (existing=True) an account created before the window."""

    @abstractmethod
    def visit(self, w: Writer, v: V, start_ms: int) -> None:
        """Emit one visit (w.begin ... w.finish)."""

    @abstractmethod
    def next_gap(self, v: V) -> int | None:
        """Days until the next visit (>= 1), or None if the visitor does not come back."""

    @abstractmethod
    def crawl_target(self) -> tuple[str, str, str]:
        """A public page (host, path, title) for crawlers."""
