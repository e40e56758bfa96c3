"""Waiting for what happens a moment later (a commit, a worker's pass, a server's counters): poll for it.

A fixed sleep is too long on a fast machine and too short on a loaded one; ``eventually`` asks again every
10 ms (by default) and returns as soon as the condition holds. Tests assert on its answer
(``assert eventually(...)``), so a condition that never comes still fails the test, once ``timeout`` has
passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(check: Callable[[], bool], timeout: float = 10.0, interval: float = 0.01) -> bool:
    """Whether ``check`` holds within ``timeout`` seconds, asked every ``interval`` seconds: for what follows
    a commit a moment later (the writer's batch report and metrics come just after the rows are visible).
    Tests that ask a server process over HTTP ask less often (``interval=0.1``), to leave it its CPU."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)  # the poll's own pace
    return True
