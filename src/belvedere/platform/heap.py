"""The server process's garbage-collector settings.

A server holds a large heap that never becomes garbage: the modules, classes and objects of every library
imported at start (about 190,000 tracked objects). CPython's full collections walk all of it while holding
the GIL. Under ingest load on the 2-core bench machine they ran 17 times in 75 seconds, up to 160 ms each,
and were the largest cause of slow capture requests (bench/ingest.py, docs/benchmarks.md).

Once the server has started, that heap is frozen — moved to a generation the collector never walks — and
young collections are made rarer: a request's garbage is freed by reference counting as soon as it is
answered, so the collector only ever finds the few cycles (tracebacks, futures) that outlive it.
"""

from __future__ import annotations

import gc

# Net allocations of tracked objects between young collections (CPython's default: 700). At 20,000 a young
# collection still runs after a few hundred requests' worth of leftover cycles, so memory stays bounded.
YOUNG_THRESHOLD = 20_000


def settle() -> int:
    """Collect once, freeze what survives, raise the young threshold; return how many objects froze."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    return gc.get_freeze_count()
