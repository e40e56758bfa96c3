"""Store turns: background work waits while a person's query waits, and never takes its place."""

from __future__ import annotations

import threading
import time

from belvedere.store.turns import Turns


def test_an_interactive_query_goes_before_background_ones_waiting_longer() -> None:
    turns = Turns(1)
    assert turns.acquire()  # a query is running
    order: list[str] = []

    def take(name: str, background: bool) -> None:
        assert turns.acquire(background=background, timeout=5)
        order.append(name)
        time.sleep(0.01)
        turns.release()

    background = [threading.Thread(target=take, args=(f"b{i}", True)) for i in range(3)]
    for t in background:
        t.start()
    time.sleep(0.05)  # the background queries wait first
    person = threading.Thread(target=take, args=("person", False))
    person.start()
    time.sleep(0.05)
    turns.release()
    for t in [*background, person]:
        t.join(5)
    assert order[0] == "person" and sorted(order[1:]) == ["b0", "b1", "b2"]


def test_background_runs_when_nobody_waits_and_timeouts_hold() -> None:
    turns = Turns(2)
    assert turns.acquire(background=True, timeout=0.1)
    assert turns.acquire(background=True, timeout=0.1)
    assert not turns.acquire(timeout=0.05)  # both slots busy: the interactive query times out
    assert not turns.acquire(background=True, timeout=0.05)
    turns.release()
    assert turns.acquire(timeout=0.05)
