"""Waking workers when a job is enqueued, so that it starts in milliseconds rather than at the next poll.

Waking only saves time: workers poll the database anyway, so a lost wake-up (Redis down, another host)
delays a job by at most one poll interval and never loses it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

import structlog

log = structlog.get_logger(__name__)

CHANNEL = "belvedere:jobs:"


class Waker(Protocol):
    def notify(self, queue: str) -> None: ...

    def wait(self, queues: Sequence[str], timeout: float) -> bool:
        """Block until a job is enqueued on one of ``queues`` or ``timeout`` passes; say whether woken."""
        ...

    def close(self) -> None: ...


class LocalWaker:
    """Wakes the workers of this process (the embedded server, where enqueuer and worker share it)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._pending: set[str] = set()

    def notify(self, queue: str) -> None:
        with self._changed:
            self._pending.add(queue)
            self._changed.notify_all()

    def wait(self, queues: Sequence[str], timeout: float) -> bool:
        wanted = set(queues)
        with self._changed:
            woken = self._changed.wait_for(lambda: bool(self._pending & wanted), timeout)
            self._pending -= wanted
            return bool(woken)

    def close(self) -> None:
        return None


class RedisWaker:
    """Wakes workers in every process through Redis pub/sub (one channel per queue). Each thread that waits
    gets its own subscription; publishing shares one client."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        self._local = threading.local()
        self._warned_at = 0.0

    def _warn(self, what: str, exc: Exception) -> None:
        if time.monotonic() - self._warned_at > 60:  # once a minute at most while Redis is away
            self._warned_at = time.monotonic()
            log.warning("jobs.waker_unavailable", action=what, error=str(exc))

    def notify(self, queue: str) -> None:
        try:
            self._redis.publish(CHANNEL + queue, b"1")
        except Exception as exc:  # the job is stored; it runs at the next poll
            self._warn("notify", exc)

    def _subscription(self, queues: Sequence[str]) -> Any:
        pubsub = getattr(self._local, "pubsub", None)
        if pubsub is None:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            pubsub.subscribe(*(CHANNEL + q for q in queues))
            self._local.pubsub = pubsub
        return pubsub

    def wait(self, queues: Sequence[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        try:
            pubsub = self._subscription(queues)
            message = pubsub.get_message(timeout=timeout)
            if message is None:
                return False
            while pubsub.get_message(timeout=0) is not None:  # several enqueues: one wake-up
                pass
            return True
        except Exception as exc:
            self._warn("wait", exc)
            self._local.pubsub = None
            time.sleep(max(0.0, deadline - time.monotonic()))
            return False

    def close(self) -> None:
        pubsub = getattr(self._local, "pubsub", None)
        if pubsub is not None:
            pubsub.close()
        self._redis.close()
