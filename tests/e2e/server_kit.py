"""Run the real `belvedere` command: CLI calls and a server process on a free local port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.conftest import TEST_SECRET

# A server for browser tests: cheap password hashing, cookies over plain HTTP, events written at once.
FAST_AUTH = {
    "BELVEDERE_AUTH__ARGON2_MEMORY_KIB": "1024",
    "BELVEDERE_AUTH__ARGON2_TIME_COST": "1",
    "BELVEDERE_AUTH__COOKIE_SECURE": "false",
    "BELVEDERE_WRITER__FLUSH_INTERVAL_MS": "50",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BELVEDERE_")}
    env.update({"BELVEDERE_DATA_DIR": str(data_dir), "BELVEDERE_ENV": "test", **extra})
    env.setdefault("BELVEDERE_SECRET_KEY", TEST_SECRET)
    return env


def cli(data_dir: Path, *args: str, timeout: float = 120, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "belvedere", *args],
        env=env_for(data_dir, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Server:
    def __init__(
        self, data_dir: Path, port: int | None = None, *, args: tuple[str, ...] = (), **extra: str
    ) -> None:
        self.data_dir = data_dir
        self.args = args  # more `belvedere serve` options (`--role capture`)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / f"server-{self.port}.log"
        self._extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "belvedere", "serve", "--port", str(self.port), *self.args],
                env=env_for(self.data_dir, **self._extra),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes its capture workers too
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL to the server and to every process it started (capture workers)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return int(self.process.returncode)
