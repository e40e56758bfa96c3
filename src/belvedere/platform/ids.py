"""Time-ordered identifiers (UUID version 7 layout): sortable, unique, cheap to make."""

from __future__ import annotations

import random
import time

_MS_MASK = (1 << 48) - 1
# Ids need uniqueness, not secrecy: a generator seeded from the OS is ten times cheaper than os.urandom.
_random = random.Random()


def uuid7_str(ms: int | None = None) -> str:
    """A version-7 UUID as text: 48 bits of milliseconds, then random bits (on the ingest hot path)."""
    ms = int(time.time() * 1000) if ms is None else ms
    rand = _random.getrandbits(74)
    value = (ms & _MS_MASK) << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62 | rand & ((1 << 62) - 1)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
