"""A real HTTP receiver for outbound deliveries: it records every request it gets (what was on the wire),
answers with a script of status codes, and can run a hook before answering (kill the sender, hold a lock)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers in order; 200 once they run out
    before_answer: Callable[[Received], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def unique(self, header: str) -> set[str]:
        """What a receiver that de-duplicates by ``header`` has accepted."""
        with self.lock:
            return {r.headers.get(header.lower(), "") for r in self.requests}


@contextmanager
def receiving(**options: Any) -> Iterator[Receiver]:
    receiver = Receiver(url="", **options)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            got = Received(
                self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
            )
            with receiver.lock:
                receiver.requests.append(got)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            if receiver.before_answer is not None:
                receiver.before_answer(got)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *args: object) -> None:
            return None

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            return None  # a sender killed mid-request breaks the pipe: that is the test, not an error

    server = Server(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
