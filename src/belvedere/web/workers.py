"""Multi-process serving: N capture workers share the public port; the store owner serves the rest.

With ``capture_workers`` > 0, ``belvedere serve`` runs the store owner (event store, writer, relay, query
and management API) on a Unix socket in the data folder, and starts N worker processes. Each binds the public
port with ``SO_REUSEPORT``, so the kernel spreads connections over them; a worker answers the capture
endpoint itself (``belvedere.ingest.worker``) and passes any other request to the owner (``web.proxy``).
Capture then runs on every core, away from the owner's writer and queries.

The owner restarts a worker that dies; a worker whose owner is gone stops within half a second.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import socket
import threading
from pathlib import Path
from typing import Any

import structlog
import uvicorn
import uvloop

from belvedere.config import ServerSettings, Settings
from belvedere.ingest.worker import CaptureWorker
from belvedere.platform import tracing
from belvedere.platform.logging import configure_logging
from belvedere.web.capture_server import CaptureServer
from belvedere.web.http_protocol import protocol
from belvedere.web.proxy import OwnerProxy

log = structlog.get_logger(__name__)


def server_options(settings: ServerSettings) -> dict[str, Any]:
    """How every Belvedere process serves HTTP. Client addresses from proxy headers are believed only from the
    proxies ``server.trusted_proxies`` names (``web.client_address``); uvicorn's own ``proxy_headers`` would
    believe X-Forwarded-For from any local process. Half-sent requests meet ``web.http_protocol``'s
    deadlines."""
    return {
        "loop": "uvloop",
        "http": protocol(settings.header_timeout_seconds, settings.body_timeout_seconds),
        "access_log": False,
        "log_level": "warning",
        "timeout_graceful_shutdown": 10,
        "proxy_headers": False,
    }


UPKEEP_SECONDS = 0.25
PUBLISH_EVERY = 4  # upkeep ticks between metric snapshots (1 s)
MAINTAIN_EVERY = 60  # upkeep ticks between salt and usage upkeep (15 s)


class WorkerApp(CaptureServer):
    """A worker's ASGI application: capture here, everything else to the owner."""

    def __init__(self, worker: CaptureWorker, owner_socket: Path, parent_pid: int | None = None) -> None:
        super().__init__(worker)
        self.proxy = OwnerProxy(owner_socket, max_body_bytes=worker.settings.server.max_body_bytes)
        self._parent = parent_pid
        self.orphaned = asyncio.Event()

    async def _other(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.proxy(scope, receive, send)

    async def _closed(self) -> None:
        await self.proxy.aclose()

    async def _upkeep(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(UPKEEP_SECONDS)
            ticks += 1
            try:
                await asyncio.to_thread(self.worker.follow_relay)
                if ticks % PUBLISH_EVERY == 0:
                    await asyncio.to_thread(self.worker.publish_metrics)
                if ticks % MAINTAIN_EVERY == 0:
                    await asyncio.to_thread(self.worker.maintain)
            except Exception:
                log.exception("worker.upkeep_failed", index=self.worker.index)
            if self._parent is not None and os.getppid() != self._parent:
                log.warning("worker.orphaned", index=self.worker.index)
                self.orphaned.set()
                return


def _listening_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_worker(index: int, host: str, port: int, owner_socket: str, parent_pid: int) -> None:
    """A worker process's main (started by ``WorkerPool`` with the spawn method)."""
    settings = Settings()
    settings.server.host, settings.server.port = host, port
    configure_logging(settings.log_level, json=settings.log_json)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per proxied request otherwise
    tracing.configure(settings.tracing, "capture-worker")
    app = WorkerApp(CaptureWorker(settings, index), Path(owner_socket), parent_pid)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", **server_options(settings.server)))

    async def serve() -> None:
        async def watch_owner() -> None:
            await app.orphaned.wait()
            server.should_exit = True

        watcher = asyncio.create_task(watch_owner())
        try:
            await server.serve(sockets=[_listening_socket(host, port)])
        finally:
            watcher.cancel()

    uvloop.run(serve())


class WorkerPool:
    """The owner's side: starts the workers, restarts any that dies, stops them first at shutdown."""

    def __init__(self, settings: Settings, owner_socket: Path) -> None:
        self._settings = settings
        self._socket = owner_socket
        self._context = multiprocessing.get_context("spawn")
        self._processes: dict[int, Any] = {}
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        for index in range(self._settings.server.capture_workers):
            self._spawn(index)
        self._watcher = threading.Thread(target=self._watch, name="worker-pool", daemon=True)
        self._watcher.start()

    def _spawn(self, index: int) -> None:
        server = self._settings.server
        process = self._context.Process(
            target=run_worker,
            args=(index, server.host, server.port, str(self._socket), os.getpid()),
            name=f"belvedere-capture-{index}",
        )
        process.start()
        self._processes[index] = process
        log.info("worker.started", index=index, pid=process.pid)

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            for index, process in list(self._processes.items()):
                if not process.is_alive() and not self._stopping.is_set():
                    log.warning("worker.exited", index=index, exitcode=process.exitcode)
                    self._spawn(index)

    def stop(self) -> None:
        """Stop every worker (each finishes its requests in flight and closes its spool)."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()
        for process in self._processes.values():
            if process.is_alive():
                process.terminate()
        for process in self._processes.values():
            process.join(20)
            if process.is_alive():
                process.kill()
                process.join(5)
        log.info("workers.stopped", count=len(self._processes))

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes.values() if p.pid is not None]
