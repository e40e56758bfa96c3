"""Ingest is a named pipeline of small steps (see STYLE.md, habit 1).

Each step enriches the event in place and returns ``None``, or returns a reason to drop it. The runner stops
at the first drop and times every step; the timings go to the metrics in bulk, not per event.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from belvedere.accounts.service import ProjectInfo
from belvedere.ingest.validate import ParsedEvent


class Step(Protocol):
    name: str

    def __call__(self, event: ParsedEvent, project: ProjectInfo) -> str | None: ...


class Pipeline:
    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = tuple(steps)
        self._ns = [0] * len(self.steps)

    def run(self, event: ParsedEvent, project: ProjectInfo) -> str | None:
        """Enrich ``event``; return the reason it was dropped, or None when it is kept."""
        clock = time.perf_counter_ns
        timings = self._ns
        for index, step in enumerate(self.steps):
            started = clock()
            reason = step(event, project)
            timings[index] += clock() - started
            if reason is not None:
                return reason
        return None

    def take_timings(self) -> dict[str, float]:
        """Seconds spent in each step since the last call."""
        taken = {step.name: ns / 1e9 for step, ns in zip(self.steps, self._ns, strict=True)}
        self._ns = [0] * len(self.steps)
        return taken
