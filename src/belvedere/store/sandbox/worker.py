"""The sandbox process: runs one user SQL statement at a time over one project's rows, and nothing else.

Started by ``pool.SqlSandbox`` as ``python -I -m belvedere.store.sandbox.worker <bytes> <priority>``. Before
it loads any engine it takes its CPU priority — by default (``idle``) the least there is, so that the
server's queries come first; ``low``: niced; ``normal``: as the server — and caps its data
memory (``RLIMIT_DATA``: heap and private mappings, not the read-only mapped input files) at what it needs
idle plus ``<bytes>``, so a statement that builds huge values fails to allocate here, never in the server. The
work itself is ``engine``'s.
"""

from __future__ import annotations

import os
import resource
import sys


def _data_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    limit_bytes, priority = int(sys.argv[1]), sys.argv[2]
    if priority in ("idle", "low"):
        os.nice(19)
    if priority == "idle":
        # Below every niced process too: it runs only on a core nothing else wants.
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    from belvedere.store.sandbox import engine  # DuckDB and Arrow, loaded at the lower priority

    cap = _data_bytes() + limit_bytes
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    engine.serve(limit_bytes, sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
