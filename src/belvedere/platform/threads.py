"""A named daemon thread that runs one loop until asked to stop (the store writer, the spool relay)."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Background:
    def __init__(self, name: str, loop: Callable[[], None]) -> None:
        self.name = name
        self.stopping = threading.Event()  # the loop watches it, and finishes its work before returning
        self._loop = loop
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.stopping.clear()  # started again after a stop: run, not finish
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to stop and wait until it has."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
