"""A real HTTP server on 127.0.0.1 that plays every kind of receiver the outbound client must survive.

The path picks the part it plays: ``/echo`` answers 200 with the body it got, ``/status/500`` answers that
status, ``/redirect/302?to=URL`` redirects, ``/big`` sends 10 MB, ``/silent`` never answers, ``/trickle-body``
and ``/trickle-head`` send one byte every 0.2 s for ever (in the body, or before the headers are done).
Every request is recorded as it arrived on the wire, before any answer.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BIG = 10 * 1024 * 1024
TRICKLE_PAUSE = 0.2


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    host: str
    port: int
    requests: list[Received] = field(default_factory=list)
    big_bytes_sent: int = 0
    big_finished: bool = False
    big_over: threading.Event = field(default_factory=threading.Event)  # the /big handler has returned
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.requests]


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.receiver.lock:
            self.receiver.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
        route = urlsplit(self.path)
        kind, _, arg = route.path.strip("/").partition("/")
        if kind == "echo":
            self._answer(200, body)
        elif kind == "status":
            self._answer(int(arg), b"status " + arg.encode())
        elif kind == "redirect":
            self._answer(int(arg), b"", location=parse_qs(route.query)["to"][0])
        elif kind == "big":
            self._big()
        elif kind == "silent":
            self.receiver.stopping.wait(30)
        elif kind == "trickle-body":
            self.send_response(200)
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            self._trickle()
        elif kind == "trickle-head":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            self._trickle()

    def _answer(self, status: int, body: bytes, *, location: str | None = None) -> None:
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _big(self) -> None:
        # A small send buffer, so what the client never reads stays here rather than in the kernel.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65_536)
        self.send_response(200)
        self.send_header("Content-Length", str(BIG))
        self.end_headers()
        chunk = b"x" * 65_536
        try:
            for _ in range(BIG // len(chunk)):
                self.wfile.write(chunk)
                with self.receiver.lock:
                    self.receiver.big_bytes_sent += len(chunk)
            self.receiver.big_finished = True
        finally:
            self.receiver.big_over.set()

    def _trickle(self) -> None:
        while not self.receiver.stopping.is_set():
            self.wfile.write(b"a")
            self.wfile.flush()
            time.sleep(TRICKLE_PAUSE)

    def log_message(self, *args: object) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client that hangs up mid-answer breaks the pipe: that is the test, not an error


@contextmanager
def receiving(host: str = "127.0.0.1") -> Iterator[Receiver]:
    server = _Server((host, 0), _Handler)
    receiver = Receiver(host=host, port=server.server_port)
    server.RequestHandlerClass = type("Handler", (_Handler,), {"receiver": receiver})
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="outbound-receiver", daemon=True
    )
    thread.start()
    try:
        yield receiver
    finally:
        receiver.stopping.set()
        server.shutdown()
        server.server_close()


def unused_port() -> int:
    """A port nothing listens on (bound, then released): connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
