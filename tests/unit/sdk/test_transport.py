"""The SDK's transport against a real local HTTP server that answers as a busy or failing Belvedere would:
retries (with the waits it asked for) on 503 and 429 until a 202, none on 401, a bounded number on a dead
address; and the client's bounded queue dropping and counting what it cannot hold."""

from __future__ import annotations

import gzip
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "sdk" / "src"))

from belvedere_sdk import Belvedere, SendError
from belvedere_sdk.transport import Transport


class _Server:
    def __init__(self, answers: list[tuple[int, dict[str, str], bytes]]) -> None:
        self.answers = answers
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                outer.bodies.append(json.loads(gzip.decompress(raw)))
                outer.headers.append(dict(self.headers))
                status, headers, body = outer.answers.pop(0) if outer.answers else (202, {}, b"{}")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server([])
    yield s
    s.httpd.shutdown()


OK = (202, {}, b'{"accepted": 1, "dropped": 0, "rejected": []}')


def test_busy_answers_are_retried_after_the_wait_asked(server: _Server) -> None:
    server.answers[:] = [(503, {"Retry-After": "2"}, b"{}"), (429, {"Retry-After": "1"}, b"{}"), OK]
    waits: list[float] = []
    transport = Transport(server.url, "bw_k", backoff=0.01, sleep=waits.append)
    assert transport.send([{"event": "x"}])["accepted"] == 1
    assert len(server.bodies) == 3 and waits[0] >= 2 and waits[1] >= 1
    assert server.headers[0]["Authorization"] == "Bearer bw_k"
    assert server.headers[0]["Content-Encoding"] == "gzip"
    assert server.bodies[0] == {"batch": [{"event": "x"}]}


def test_a_refusal_for_good_is_not_retried(server: _Server) -> None:
    server.answers[:] = [(401, {}, b'{"error": {"code": "invalid_write_key"}}')]
    transport = Transport(server.url, "bw_wrong", sleep=lambda s: None)
    with pytest.raises(SendError) as refused:
        transport.send([{"event": "x"}])
    assert refused.value.status == 401 and "invalid_write_key" in refused.value.body
    assert len(server.bodies) == 1


def test_a_dead_address_is_tried_a_bounded_number_of_times() -> None:
    waits: list[float] = []
    transport = Transport("http://127.0.0.1:9", "bw_k", max_retries=3, backoff=0.01, sleep=waits.append)
    with pytest.raises(SendError) as failed:
        transport.send([{"event": "x"}])
    assert failed.value.status == 0 and len(waits) == 3


def test_a_full_queue_drops_and_counts(server: _Server) -> None:
    release = threading.Event()
    client = Belvedere("bw_k", server.url, batch_size=1, max_queue=2, flush_interval=0.05)
    client.transport.sleep = lambda s: release.wait()
    server.answers[:] = [(503, {}, b"{}")] + [OK] * 20  # the first batch waits, holding the thread
    for i in range(10):
        client.capture("u1", f"e{i}")
    assert client.dropped >= 7  # the thread holds one, the queue two
    release.set()
    client.shutdown()
    kept = [b["batch"][0]["event"] for b in server.bodies]
    assert len(set(kept)) == 10 - client.dropped


def test_each_event_keeps_its_id_across_retries(server: _Server) -> None:
    server.answers[:] = [(500, {}, b"{}"), OK]
    client = Belvedere("bw_k", server.url, sync_mode=True)
    client.transport.sleep = lambda s: None
    event_id = client.capture("u1", "paid", {"plan": "pro"})
    first, second = (b["batch"][0] for b in server.bodies)
    assert first == second and first["uuid"] == event_id and first["properties"] == {"plan": "pro"}


def test_the_sdk_imports_the_standard_library_and_itself_only() -> None:
    import ast

    sdk = Path(__file__).resolve().parents[3] / "sdk" / "src" / "belvedere_sdk"
    found: set[str] = set()
    for path in sdk.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.split(".")[0])
    assert found - {"belvedere_sdk", "__future__"} <= set(sys.stdlib_module_names), found
