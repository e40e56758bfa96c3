"""Query results cached by (project, normalised query, data watermark).

The watermark is a per-project counter the event store bumps whenever it commits events of that project,
so a cached answer is served only while no new event could change it. In-process LRU for the embedded
mode; a Redis implementation of the same two methods comes with the scale-out mode.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

CacheKey = tuple[int, str, int]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """At most ``max_entries`` values, the least recently used dropped first; safe across threads."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class QueryCache(LruCache[CacheKey, Any]):
    def __init__(self, max_entries: int = 2048) -> None:
        super().__init__(max_entries)
