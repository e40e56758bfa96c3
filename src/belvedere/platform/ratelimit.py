"""Rate limiting on the `limits` library: counters in memory for one process, in Redis when several share.

Two strategies: a moving window where exactness matters and volumes are tiny (failed logins), a fixed window
where volumes are large (API and ingest requests), which costs one counter per key and window.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the window frees capacity again
    window_seconds: int

    def headers(self) -> dict[str, str]:
        """The IETF `RateLimit-*` fields, plus `Retry-After` when refused."""
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
            "RateLimit-Policy": f"{self.limit};w={self.window_seconds}",
        }
        if not self.allowed:
            out["Retry-After"] = str(max(self.reset_seconds, 1))
        return out


class RateLimiter:
    def __init__(self, storage_url: str = "memory://", namespace: str = "belvedere") -> None:
        storage = storage_from_string(storage_url)
        if not isinstance(storage, Storage):
            raise ValueError(f"{storage_url!r} names an asynchronous storage; use the synchronous URI")
        self.storage = storage
        self._ns = namespace
        self._fixed = FixedWindowRateLimiter(self.storage)
        self._moving = MovingWindowRateLimiter(self.storage)

    def hit(self, key: str, limit: int, window_minutes: int, *, exact: bool = False) -> Verdict:
        """Count one request against ``key`` and say whether it is within the limit, in one atomic step (so
        a check made this way holds under concurrency); refused requests are not counted."""
        item, key = RateLimitItemPerMinute(limit, window_minutes), f"{self._ns}:{key}"
        strategy = self._moving if exact else self._fixed
        allowed = strategy.hit(item, key)
        return self._verdict(strategy, item, key, allowed)

    def clear(self, key: str, limit: int, window_minutes: int) -> None:
        self._moving.clear(RateLimitItemPerMinute(limit, window_minutes), f"{self._ns}:{key}")

    @staticmethod
    def _verdict(
        strategy: FixedWindowRateLimiter | MovingWindowRateLimiter,
        item: RateLimitItemPerMinute,
        key: str,
        allowed: bool,
    ) -> Verdict:
        stats = strategy.get_window_stats(item, key)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Verdict(allowed, item.amount, stats.remaining, reset, item.get_expiry())

    def ping(self) -> bool:
        return bool(self.storage.check())
