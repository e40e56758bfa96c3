"""Issue #25 (finding 9): half-sent requests used to hold their connections open forever. Against a real
server with 1-second deadlines, each kind of slow client is cut off, and whole requests still work."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.e2e.server_kit import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        tmp_path_factory.mktemp("slow"),
        BELVEDERE_SERVER__HEADER_TIMEOUT_SECONDS="1",
        BELVEDERE_SERVER__BODY_TIMEOUT_SECONDS="1",
    ).start()
    yield running
    running.stop()


def _closed_after(server: Server, sent: bytes, patience: float = 6.0) -> float:
    """Seconds until the server closes a connection that sent ``sent`` and then nothing more."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port)) as conn:
        conn.sendall(sent)
        conn.settimeout(patience)
        try:
            while conn.recv(4096):
                pass
        except TimeoutError:
            return float("inf")
    return time.monotonic() - started


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(b"", id="connects and says nothing"),
        pytest.param(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n", id="headers never end"),
        pytest.param(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"email": ',
            id="body never ends",
        ),
        pytest.param(
            b"POST /api/v1/capture HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{",
            id="capture body never ends",
        ),
    ],
)
def test_a_half_sent_request_is_cut_off(server: Server, sent: bytes) -> None:
    assert _closed_after(server, sent) < 4


def test_whole_requests_and_kept_alive_connections_still_work(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            assert client.get("/health").status_code == 200
            time.sleep(0.3)  # deliberate: the kept-alive connection idles (under the 1 s deadlines)
