"""A circuit breaker per destination (a webhook host, the SMTP server), in each worker process.

After ``failures`` failed deliveries in a row to one destination, it opens: deliveries there fail at once,
without a connection, for ``open_seconds``, and their jobs retry later with backoff, so one dead receiver
does not tie up the workers nor get hammered. Then one delivery is let through as a probe (half-open): its
success closes the circuit, its failure opens it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class CircuitOpen(Exception):
    """Deliveries to this destination are held back for a while: retry later."""


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False


class Breaker:
    def __init__(
        self, failures: int = 5, open_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = failures
        self.open_seconds = open_seconds
        self.clock = clock
        self._circuits: dict[str, _Circuit] = {}
        self._lock = threading.Lock()

    def state(self, destination: str) -> str:
        with self._lock:
            circuit = self._circuits.get(destination)
            if circuit is None or circuit.opened_at is None:
                return "closed"
            if circuit.probing or self.clock() - circuit.opened_at >= self.open_seconds:
                return "half-open"
            return "open"

    def before(self, destination: str) -> None:
        """Raise ``CircuitOpen`` unless a delivery to ``destination`` may go now."""
        with self._lock:
            circuit = self._circuits.setdefault(destination, _Circuit())
            if circuit.opened_at is None:
                return
            waited = self.clock() - circuit.opened_at
            if waited < self.open_seconds:
                left = self.open_seconds - waited
                raise CircuitOpen(
                    f"{destination} failed {circuit.failures} times in a row; next try in {left:.0f} s"
                )
            if circuit.probing:
                raise CircuitOpen(f"{destination}: a probe delivery is under way")
            circuit.probing = True  # half-open: this one call goes through

    def succeeded(self, destination: str) -> None:
        with self._lock:
            self._circuits[destination] = _Circuit()

    def failed(self, destination: str) -> None:
        with self._lock:
            circuit = self._circuits.setdefault(destination, _Circuit())
            circuit.failures += 1
            if circuit.probing or circuit.failures >= self.threshold:
                circuit.opened_at, circuit.probing = self.clock(), False
