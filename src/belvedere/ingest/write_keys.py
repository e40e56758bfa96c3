"""Write key → project, for capture: cached briefly in each process, and forgotten by every process at once.

Capture looks a write key up on every request, so each process (the server, and each capture worker)
caches the answers, hits and misses alike, for ``ingest.key_cache_seconds``. A change that must take effect
at once — a rotated key, a deleted project or organisation — calls ``forget()`` after it commits: the
process's own cache is cleared, and one byte is appended to a small file in the data folder, the *epoch*.
Every lookup first compares the file's identity and size with what it last saw (one ``stat``, a microsecond)
and clears its cache when they changed, so a capture worker stops taking an old key with the next request,
not 30 seconds later. (Several machines would need the same signal through a shared service; see the
scale-out issue.)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from belvedere.accounts.service import ProjectInfo, find_project_by_write_key
from belvedere.platform.db import transaction

EPOCH_FILE = "write-keys.epoch"
_MAX_ENTRIES = 10_000


def epoch_file(data_dir: Path) -> Path:
    return data_dir / EPOCH_FILE


class ProjectDirectory:
    def __init__(self, sessions: sessionmaker[Session], ttl_seconds: float, epoch: Path) -> None:
        self._sessions = sessions
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, ProjectInfo | None]] = {}
        self._epoch_path = epoch
        self._epoch = self._read_epoch()

    def _read_epoch(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self._epoch_path)
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_size, stat.st_mtime_ns

    def by_write_key(self, write_key: str) -> ProjectInfo | None:
        epoch = self._read_epoch()
        if epoch != self._epoch:  # another process (or this one) forgot: nothing cached may be kept
            self._cache.clear()
            self._epoch = epoch
        now = time.monotonic()
        hit = self._cache.get(write_key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        with transaction(self._sessions) as session:
            project = find_project_by_write_key(session, write_key=write_key)
        if len(self._cache) > _MAX_ENTRIES:
            self._cache.clear()
        self._cache[write_key] = (now, project)
        return project

    def forget(self) -> None:
        """Make every process look every key up again (call after the change has committed)."""
        self._cache.clear()
        with self._epoch_path.open("ab") as epoch:
            epoch.write(b".")
