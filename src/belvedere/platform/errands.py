"""Work a request hands off and does not wait for: one background thread, in arrival order.

For what must not make a request slower or tell anything by its timing: a password-reset request answers at
once, the same way for any email, and the lookup, the link and the mail happen here. An errand that fails is
logged; an errand still queued at shutdown is finished first. Errands are not durable: one in flight when the
process is killed is lost (a reset email: the user asks again).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class Errands:
    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="errands")

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def run(self, name: str, job: Callable[..., object], *args: Any) -> Future[None]:
        def errand() -> None:
            try:
                job(*args)
            except Exception:
                log.exception("errand.failed", errand=name)

        if self._pool is None:
            raise RuntimeError("the runtime is not started")
        return self._pool.submit(errand)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every errand handed in so far is done (they run in order)."""
        self.run("settle", lambda: None).result(timeout)
