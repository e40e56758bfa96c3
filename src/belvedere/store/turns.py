"""Turns in the event store, with room for people first: a query marked ``background`` (an alert's
evaluation, a scheduled report) takes a turn only when no interactive query is waiting for one, so that the
work the job platform does in bulk delays a dashboard by one statement at most, never by a queue of them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Turns:
    def __init__(self, slots: int, preempt: Callable[[], None] | None = None) -> None:
        """``preempt``: asked to stop the background queries running, when an interactive one must wait."""
        self._preempt = preempt
        self._free = slots
        self._waiting = 0  # interactive queries waiting for a turn
        self._changed = threading.Condition()

    def acquire(self, *, background: bool = False, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            if not background:
                self._waiting += 1
            try:
                while self._free <= 0 or (background and self._waiting > 0):
                    if not background and self._preempt is not None:
                        self._preempt()
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._changed.wait(left)
                self._free -= 1
                return True
            finally:
                if not background:
                    self._waiting -= 1

    def release(self) -> None:
        with self._changed:
            self._free += 1
            self._changed.notify_all()
