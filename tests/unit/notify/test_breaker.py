"""The circuit breaker per destination: open after repeated failures, one probe when the wait is over,
closed by the probe's success and opened again by its failure; other destinations are unaffected."""

from __future__ import annotations

import pytest

from belvedere.notify.breaker import Breaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_it_opens_after_repeated_failures_and_probes_once_when_the_wait_is_over() -> None:
    clock = Clock()
    breaker = Breaker(failures=3, open_seconds=60, clock=clock)
    for _ in range(2):
        breaker.before("hooks.example.com")
        breaker.failed("hooks.example.com")
    assert breaker.state("hooks.example.com") == "closed"
    breaker.before("hooks.example.com")
    breaker.failed("hooks.example.com")
    assert breaker.state("hooks.example.com") == "open"
    with pytest.raises(CircuitOpen, match="failed 3 times in a row; next try in 60 s"):
        breaker.before("hooks.example.com")
    breaker.before("other.example.com")  # another destination goes through
    clock.now += 60
    assert breaker.state("hooks.example.com") == "half-open"
    breaker.before("hooks.example.com")  # the probe
    with pytest.raises(CircuitOpen, match="a probe delivery is under way"):
        breaker.before("hooks.example.com")
    breaker.failed("hooks.example.com")  # the probe failed: open again, for another full wait
    assert breaker.state("hooks.example.com") == "open"
    clock.now += 59
    with pytest.raises(CircuitOpen):
        breaker.before("hooks.example.com")
    clock.now += 1
    breaker.before("hooks.example.com")
    breaker.succeeded("hooks.example.com")  # the probe succeeded: closed, the count starts over
    assert breaker.state("hooks.example.com") == "closed"
    breaker.before("hooks.example.com")
    breaker.failed("hooks.example.com")
    assert breaker.state("hooks.example.com") == "closed"
