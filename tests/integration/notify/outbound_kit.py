"""A real HTTP server on 127.0.0.1 that plays every kind of receiver the outbound client must survive.

The path picks the part it plays: ``/echo`` answers 200 with the body it got, ``/status/500`` answers that
status, ``/redirect/302?to=URL`` redirects, ``/big`` sends 10 MB, ``/silent`` never answers, ``/trickle-body``
and ``/trickle-head`` send one byte every 0.2 s (in the body, or before the headers are done) for 4 s.
Every request is recorded as it arrived on the wire, before any answer.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BIG = 10 * 1024 * 1024
TRICKLE_PAUSE = 0.2
TRICKLE_FOR = 4.0  # then hang up, so a client without a deadline fails its test late instead of hanging it


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
    server_names: list[str | None] = field(default_factory=list)  # TLS SNI, as each client sent it
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
        until = time.monotonic() + TRICKLE_FOR
        while not self.receiver.stopping.is_set() and time.monotonic() < until:
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
def receiving(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    server = _Server((host, 0), _Handler)
    receiver = Receiver(host=host, port=server.server_port)
    if tls is not None:
        tls.sni_callback = lambda sock, name, context: receiver.server_names.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
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


@dataclass(frozen=True)
class Authority:
    """A certificate authority made for one test: ``server(name)`` is a TLS context with a certificate for
    ``name`` (no IP address in it), ``client`` trusts this authority and no other."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def client(self) -> ssl.SSLContext:
        pem = self.certificate.public_bytes(serialization.Encoding.PEM).decode()
        return ssl.create_default_context(cadata=pem)

    def server(self, name: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = (
            _builder(name, key.public_key(), self.certificate.subject)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as folder:
            cert, secret = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
            secret.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            context.load_cert_chain(cert, secret)
        return context


def authority() -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Belvedere test CA")])
    certificate = (
        _builder("Belvedere test CA", key.public_key(), name)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, certificate)


def _builder(
    subject: str, public_key: ec.EllipticCurvePublicKey, issuer: x509.Name
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
    )
