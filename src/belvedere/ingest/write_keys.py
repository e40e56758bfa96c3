"""Write key → project, for capture: cached briefly in each process, and forgotten by every process at once.

Capture looks a write key up on every request, so each process (the server, and each capture worker)
caches the answers, hits and misses alike, for ``ingest.key_cache_seconds``. A change that must take effect
at once — a rotated key, a deleted project or organisation — calls ``forget()`` after it commits: the
process's own cache is cleared, and one byte is appended to a small file in the data folder, the *epoch*.
Every lookup first compares the file's identity and size with what it last saw (one ``stat``, a microsecond)
and clears its cache when they changed, so a capture worker stops taking an old key with the next request,
not 30 seconds later. Capture processes on other machines (``belvedere serve --role capture``) do not see
that file: when the processes share the ingest stream's Redis, the epoch is also a counter there
(``SharedEpoch``), which every process reads at most once a second — a rotated key stops working
everywhere within a second.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from belvedere.accounts.service import (
    ProjectInfo,
    find_project_by_write_key,
    site_domain,
    write_keys_by_domain,
)
from belvedere.platform.db import transaction

log = structlog.get_logger(__name__)

EPOCH_FILE = "write-keys.epoch"
_MAX_ENTRIES = 10_000


def epoch_file(data_dir: Path) -> Path:
    return data_dir / EPOCH_FILE


class SharedEpoch:
    """The epoch as a counter in Redis, for processes on several machines. Read at most every
    ``check_seconds`` (the capture path asks on every request); Redis unreachable, the last value read
    stands, and the key cache's time limit still bounds how long a stale answer lives."""

    def __init__(
        self, url: str, key: str = "belvedere:write-keys-epoch", *, check_seconds: float = 1.0
    ) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=1)
        self._key = key
        self._check = check_seconds
        self._checked_at = float("-inf")
        self._value: bytes | None = None

    def read(self) -> bytes | None:
        now = time.monotonic()
        if now - self._checked_at >= self._check:
            self._checked_at = now
            try:
                self._value = self._redis.get(self._key)
            except Exception as exc:  # unreachable: keep the last value
                log.warning("write_keys.shared_epoch_unreadable", error=f"{type(exc).__name__}: {exc}")
        return self._value

    def bump(self) -> None:
        try:
            self._redis.incr(self._key)
        except Exception as exc:  # the other machines then see the change within the cache's time limit
            log.error("write_keys.shared_epoch_not_bumped", error=f"{type(exc).__name__}: {exc}")


class ProjectDirectory:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        ttl_seconds: float,
        epoch: Path,
        shared: SharedEpoch | None = None,
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, ProjectInfo | None]] = {}
        self._domains: tuple[float, dict[str, str | None]] | None = None
        self._epoch_path = epoch
        self._shared = shared
        self._epoch = self._read_epoch()

    def _read_epoch(self) -> tuple[object, ...]:
        shared = self._shared.read() if self._shared is not None else None
        try:
            stat = os.stat(self._epoch_path)
        except FileNotFoundError:
            return (None, shared)
        return stat.st_ino, stat.st_size, stat.st_mtime_ns, shared

    def by_write_key(self, write_key: str) -> ProjectInfo | None:
        self._check_epoch()
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

    def by_domain(self, domain: str) -> tuple[ProjectInfo | None, bool]:
        """The project whose ``domains`` setting lists ``domain``, and whether several do (then None). The
        map of every project's domains is read once per cache period, never per request: a flood of made-up
        domains costs a dictionary lookup each."""
        self._check_epoch()
        now = time.monotonic()
        if self._domains is None or now - self._domains[0] >= self._ttl:
            with transaction(self._sessions) as session:
                self._domains = (now, write_keys_by_domain(session))
        wanted = site_domain(domain)
        if wanted not in self._domains[1]:
            return None, False
        key = self._domains[1][wanted]
        return (None, True) if key is None else (self.by_write_key(key), False)

    def _check_epoch(self) -> None:
        epoch = self._read_epoch()
        if epoch != self._epoch:  # another process (or this one) forgot: nothing cached may be kept
            self._cache.clear()
            self._domains = None
            self._epoch = epoch

    def forget(self) -> None:
        """Make every process look every key up again (call after the change has committed)."""
        self._cache.clear()
        self._domains = None
        with self._epoch_path.open("ab") as epoch:
            epoch.write(b".")
        if self._shared is not None:
            self._shared.bump()
