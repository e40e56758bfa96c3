"""A redis-server of the test's own, configured as docs/operations.md says for the ingest stream (append-only
file synced on every write), that the test may SIGKILL and start again from its file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import redis
from tests.e2e.server_kit import free_port
from tests.waiting import eventually


class OwnRedis:
    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:  # pragma: no cover - scripts/services.sh installs Redis
            pytest.fail("redis-server is missing: run scripts/test.sh, which installs it")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--dir", str(self.directory), "--save", "",
             "--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        assert eventually(lambda: _pings(client), timeout=10), "redis-server did not start"
        client.close()
        return self.process

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final save; what survives is what the append-only file holds."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
