"""The server's side of the sandbox: worker processes, started when needed, kept while they behave.

A worker that misses its deadline is killed (the kernel stops it wherever it is, which no interrupt inside
the server could promise); one that dies — its memory cap reached where DuckDB could not fail cleanly — is
replaced by the next query. Either way the server process itself never held the statement's memory."""

from __future__ import annotations

import os
import selectors
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

import orjson

from belvedere.store.base import QueryTimedOut

# What the worker inherits of the server's environment: enough to start Python, no secret.
_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "TZ")


class SandboxFailed(Exception):
    """The statement could not run in the sandbox; ``reason`` is ``memory``, ``too_large`` or ``failed``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# The sandbox's CPU priority (``worker``): below everything, niced, or as the server.
CpuPriority = Literal["idle", "low", "normal"]


class _Worker:
    def __init__(self, memory_bytes: int, directory: Path, priority: CpuPriority) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-m", "belvedere.store.sandbox.worker", str(memory_bytes), priority],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=directory,
            env={k: v for k, v in os.environ.items() if k in _ENVIRONMENT},
            bufsize=0,
        )

    def ask(self, request: dict[str, Any], deadline: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        body = orjson.dumps(request)
        self.process.stdin.write(struct.pack(">I", len(body)) + body)
        self.process.stdin.flush()
        (size,) = struct.unpack(">I", self._read(4, deadline))
        answer: dict[str, Any] = orjson.loads(self._read(size, deadline))
        return answer

    def _read(self, size: int, deadline: float) -> bytes:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        chunks, left = [], size
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while left:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise QueryTimedOut("the sandbox did not answer in time")
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    raise EOFError
                chunks.append(chunk)
                left -= len(chunk)
        return b"".join(chunks)

    def kill(self) -> int:
        self.process.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        return self.process.wait()


class SqlSandbox:
    def __init__(self, directory: Path, *, memory_bytes: int, priority: CpuPriority = "idle") -> None:
        self.directory = directory
        self.memory_bytes = memory_bytes
        self.priority = priority
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def run(self, request: dict[str, Any], deadline: float) -> dict[str, Any]:
        """The worker's answer to ``request`` (see ``worker``); raises ``QueryTimedOut`` past ``deadline``,
        ``SandboxFailed`` when the statement fails or its worker dies."""
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is not None and worker.process.poll() is None:
            answer = self._ask(worker, request, deadline)
            if answer is not None:
                return self._answered(worker, answer)
            # The idle worker was gone before this statement reached it (one that hit its memory cap may
            # exit a moment after answering): not this statement's doing; once more, on a new worker.
        elif worker is not None:
            worker.kill()
        worker = _Worker(self.memory_bytes, self.directory, self.priority)
        answer = self._ask(worker, request, deadline)
        if answer is None:
            raise SandboxFailed(
                "memory",
                f"the query stopped its sandbox process (exit {worker.process.returncode}): it most likely"
                f" needed more than {self.memory_bytes // (1 << 20)} MB",
            )
        return self._answered(worker, answer)

    @staticmethod
    def _ask(worker: _Worker, request: dict[str, Any], deadline: float) -> dict[str, Any] | None:
        """The worker's answer; None if it died (killed, then)."""
        try:
            return worker.ask(request, deadline)
        except QueryTimedOut:
            worker.kill()
            raise
        except (EOFError, BrokenPipeError, OSError, ValueError):
            worker.kill()
            return None

    def _answered(self, worker: _Worker, answer: dict[str, Any]) -> dict[str, Any]:
        if answer.get("reason") == "memory":
            # A worker that reached its cap may keep much of that memory mapped (the allocator holds on to
            # it), so the next statement, however small, would find no room: it is retired.
            worker.kill()
        else:
            with self._lock:
                self._idle.append(worker)
        if not answer.get("ok"):
            raise SandboxFailed(str(answer.get("reason")), str(answer.get("message")))
        return answer

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()
