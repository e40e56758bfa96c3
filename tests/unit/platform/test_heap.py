"""The server settles its heap once started: what survives start-up is frozen out of the collector's walks
and young collections become rarer (``belvedere.platform.heap``)."""

from __future__ import annotations

import json
import subprocess
import sys

from belvedere.platform.heap import YOUNG_THRESHOLD

SCRIPT = """
import gc, json
import belvedere.app  # the server's imports: FastAPI, SQLAlchemy, DuckDB...
from belvedere.platform import heap
before = gc.get_freeze_count()
frozen = heap.settle()
garbage = [[] for _ in range(1000)]  # made after settling: young, and walked by the collector as usual
print(json.dumps({"before": before, "frozen": frozen, "threshold": gc.get_threshold(),
                  "young": gc.get_count()[0], "tracked": len(gc.get_objects())}))
"""


def test_settle_freezes_the_start_up_heap_and_raises_the_young_threshold() -> None:
    # In a process of its own: freezing is for the life of the process.
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    got = json.loads(out)
    assert got["before"] == 0
    assert got["frozen"] > 50_000  # the imported libraries' objects
    assert got["threshold"][0] == YOUNG_THRESHOLD
    assert got["young"] >= 1000  # the lists made afterwards wait in the young generation
    assert got["tracked"] < got["frozen"]  # frozen objects are no longer among those the collector walks
