"""Outbound HTTP for webhook and Slack deliveries: one POST to a URL that a tenant typed in, sent carefully.

Why careful. The server sits inside somebody's network, and a webhook URL is chosen by an organisation's
admin, not by whoever runs the server. "POST to this URL" would otherwise let a tenant make the server talk
to what only the server can reach (server-side request forgery): an admin port on localhost, a database on
10.0.0.5, the cloud metadata service at 169.254.169.254 that hands out the machine's credentials. So:

* Every address we connect to must be global unicast. The check is an allowlist (on the public internet, or
  refused), and IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) are also judged by
  the IPv4 address they carry.
* The check is made on what the host resolves to, not on how it is spelt: ``localhost``, ``2130706433`` and
  ``0177.0.0.1`` are all 127.0.0.1. ``check_url`` rewrites IPv4 written in the forms the C resolver accepts
  (one decimal number, octal, hex) as the dotted quad the resolver would read, so no such host passes as a
  "name".
* DNS rebinding: a name can resolve to a public address when we check it and to 127.0.0.1 a moment later,
  when the HTTP library looks it up again to connect. We look it up once, check every answer, and connect to
  the checked address itself; the name travels only in the ``Host`` header and in TLS (``sni_hostname``:
  SNI and the certificate check), so nothing looks it up a second time.
* Redirects are followed here, not by httpx, so that each hop is checked like the first (scheme, resolution,
  addresses) before anything is sent to it. A 303 would turn the POST into a GET without the payload, and
  https never redirects to plain http (the payload would leave in clear): both fail.
* Slow or huge answers must not hold or sink the worker. A receiver may never answer, trickle a byte at a
  time (which no per-read timeout notices), or send gigabytes. The whole call has one deadline (``timeout``:
  DNS, connect, TLS, every hop and reading), enforced by shutting the socket under the reader when it
  passes; the body is streamed and only ``max_response_bytes`` are kept. We ask for it uncompressed
  (``Accept-Encoding: identity``) and keep the raw bytes, so a small gzip cannot inflate in memory.

``allow_private`` (the setting ``outbound.allow_private_networks``) turns the address check off, for tests
and for self-hosters whose receiver or Slack proxy is on their own network. Everything else stays on.
``allow_networks`` is the narrower door: addresses in those networks pass (the one internal proxy), every
other private address is still refused, on every hop.

Headers on redirects (a decision): the caller's headers (content type, a signature over the body, a delivery
id) are sent again on every hop, since a receiver that moved still needs them to verify and de-duplicate;
a signature proves the body, and the body goes to the new hop anyway. Credentials (``Authorization``,
``Proxy-Authorization``, ``Cookie``) go only to the origin the URL named (scheme, host and port), never to
another. Cookies a receiver sets are never sent back: nothing is kept between hops. No proxy or ``.netrc``
from the environment is used (``trust_env=False``).

Errors say what to do: ``DestinationRefused`` (the URL or where it leads is not allowed: retrying will not
help) and ``DeliveryFailed`` (network, timeout, TLS, redirects: worth retrying later). A 4xx or 5xx answer is
no error here: it comes back as an ``Answer``, and the caller decides (4xx permanent, 5xx and 429 retry).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from belvedere.notify.destinations import IPAddress, Network, check_url, refused_reason

__all__ = [
    "Answer",
    "DeliveryFailed",
    "DestinationRefused",
    "check_url",
    "post",
    "refused_reason",
]

Resolver = Callable[[str, int], list[str]]

USER_AGENT = "Belvedere-Webhooks/1"
ALLOW_SETTING = "BELVEDERE_OUTBOUND__ALLOW_PRIVATE_NETWORKS"
FOLLOWED = frozenset({301, 302, 307, 308})  # 307 and 308 keep the method; 301 and 302 do in practice for us
CREDENTIALS = frozenset({"authorization", "proxy-authorization", "cookie"})
# Framing is ours to set: a caller's Content-Length or Host must not disagree with what we send.
OURS = frozenset({"host", "content-length", "transfer-encoding", "connection", "accept-encoding"})


class DestinationRefused(Exception):
    """The URL, or an address it resolves or redirects to, is not allowed. Retrying will not help."""


class DeliveryFailed(Exception):
    """The delivery did not complete (network, timeout, TLS, redirects): worth retrying later. ``status`` is
    the last HTTP status seen, if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Answer:
    """The receiver's answer: ``body`` holds at most ``max_response_bytes`` (raw, as sent), ``truncated``
    says whether there was more, ``url`` is the URL that answered (after redirects)."""

    status: int
    body: bytes
    truncated: bool
    url: str


# --- Sending -------------------------------------------------------------------------------------------


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    timeout: float = 10.0,
    max_redirects: int = 3,
    max_response_bytes: int = 65_536,
    resolve: Resolver | None = None,
    allow_networks: Sequence[Network] = (),
    verify: ssl.SSLContext | None = None,
) -> Answer:
    """POST ``body`` to ``url`` and return the answer, whatever its status. ``timeout`` bounds the whole
    call (every hop, from DNS to the last byte read). ``resolve(host, port)`` lists a name's addresses
    (``socket.getaddrinfo`` by default; tests inject their own). Without ``allow_private``, an address in
    ``allow_networks`` passes the check though private. ``verify`` replaces the system's certificate
    authorities (a receiver behind a private CA; tests)."""
    deadline = time.monotonic() + timeout
    current = _checked(url)
    first_origin = _origin(current)
    for hop in range(max_redirects + 1):
        sent = _headers_for(headers, current, same_origin=_origin(current) == first_origin)
        answer, location = _deliver(
            _Hop(current, "webhook URL" if hop == 0 else f"webhook URL redirects to {current}, which"),
            body,
            sent,
            allowed=None if allow_private else tuple(allow_networks),
            deadline=_Deadline(deadline, timeout),
            max_bytes=max_response_bytes,
            resolve=resolve or _system_resolve,
            verify=verify,
        )
        if answer.status == 303:
            raise DeliveryFailed(
                f"{current} answered 303 See Other, which would turn the POST into a GET without the "
                "payload; point the channel at the final URL",
                status=303,
            )
        if answer.status not in FOLLOWED or location is None:
            return answer
        if hop == max_redirects:
            raise DeliveryFailed(f"{url} redirected more than {max_redirects} times", status=answer.status)
        current = _redirect_target(current, location)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class _Hop:
    url: str
    described: str  # how a refusal names it: "webhook URL", "webhook URL redirects to ..., which"


@dataclass(frozen=True, slots=True)
class _Deadline:
    at: float  # time.monotonic() when the whole call must be over
    budget: float  # the caller's timeout, for messages

    def remaining(self, what: str) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeliveryFailed(f"{what} took longer than {self.budget:g} s")
        return left


def _checked(url: str) -> str:
    try:
        return check_url(url)
    except ValueError as exc:
        raise DestinationRefused(f"webhook URL is not allowed: {exc}") from None


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


def _redirect_target(current: str, location: str) -> str:
    try:
        target = str(httpx.URL(current).join(location))
    except (httpx.InvalidURL, ValueError) as exc:
        raise DestinationRefused(f"{current} redirects to {location!r}, which is unreadable: {exc}") from None
    try:
        target = check_url(target)
    except ValueError as exc:
        raise DestinationRefused(f"{current} redirects to {location!r}, which is refused: {exc}") from None
    if current.startswith("https:") and target.startswith("http:"):
        raise DestinationRefused(f"{current} redirects to {target}: from https to plain http is not followed")
    return target


def _headers_for(given: Mapping[str, str], url: str, *, same_origin: bool) -> httpx.Headers:
    headers = httpx.Headers(
        {
            name: value
            for name, value in given.items()
            if name.lower() not in OURS and (same_origin or name.lower() not in CREDENTIALS)
        }
    )
    headers.setdefault("User-Agent", USER_AGENT)
    headers["Host"] = httpx.URL(url).netloc.decode("ascii")
    headers["Accept-Encoding"] = "identity"
    return headers


def _system_resolve(host: str, port: int) -> list[str]:
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _deliver(
    hop: _Hop,
    body: bytes,
    headers: httpx.Headers,
    *,
    allowed: tuple[Network, ...] | None,
    deadline: _Deadline,
    max_bytes: int,
    resolve: Resolver,
    verify: ssl.SSLContext | None,
) -> tuple[Answer, str | None]:
    """One request of the chain: resolve, check, then try the checked addresses in turn (the next one only
    when connecting to one fails, as a browser does when IPv6 is listed but not routed)."""
    url = httpx.URL(hop.url)
    host = url.raw_host.decode("ascii")
    addresses = _addresses(host, url.port or (443 if url.scheme == "https" else 80), resolve, deadline)
    if allowed is not None:
        _refuse_private(hop, host, addresses, allowed)
    failure: httpx.ConnectError | None = None
    for address in addresses:
        try:
            return _exchange(
                url, address, body, headers, deadline=deadline, max_bytes=max_bytes, verify=verify
            )
        except httpx.ConnectError as exc:
            failure = exc
    raise DeliveryFailed(f"could not connect to {host}: {failure}")


def _refuse_private(hop: _Hop, host: str, addresses: list[IPAddress], allowed: tuple[Network, ...]) -> None:
    """Refuse the hop if any address is, not only the one we would connect to: the next attempt may use
    another, and a name that mixes public and private answers is suspect."""
    for address in addresses:
        if any(net.version == address.version and address in net for net in allowed):
            continue
        reason = refused_reason(address)
        if reason is not None:
            verb = "points at" if host == str(address) else "resolves to"
            raise DestinationRefused(
                f"{hop.described} {verb} {address}, a {reason} address; set {ALLOW_SETTING}=true to allow it"
            )


def _addresses(host: str, port: int, resolve: Resolver, deadline: _Deadline) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass  # a name: look it up
    found: list[IPAddress] = []
    for answer in _resolve_within(resolve, host, port, deadline):
        try:
            address = ipaddress.ip_address(answer)
        except ValueError:
            raise DeliveryFailed(f"looking up {host} gave {answer!r}, which is not an address") from None
        if address not in found:
            found.append(address)
    if not found:
        raise DeliveryFailed(f"{host} has no address")
    return found


def _resolve_within(resolve: Resolver, host: str, port: int, deadline: _Deadline) -> list[str]:
    """getaddrinfo has no timeout of its own: it runs in a daemon thread that is left behind if it is slow."""
    outcome: list[list[str] | BaseException] = []

    def run() -> None:
        try:
            outcome.append(resolve(host, port))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=run, name="outbound-resolve", daemon=True)
    thread.start()
    thread.join(deadline.remaining(f"looking up {host}"))
    if not outcome:
        raise DeliveryFailed(f"looking up {host} took longer than {deadline.budget:g} s")
    result = outcome[0]
    if isinstance(result, OSError | UnicodeError):
        raise DeliveryFailed(f"could not look up {host}: {result}")
    if isinstance(result, BaseException):
        raise result
    return result


def _exchange(
    url: httpx.URL,
    address: IPAddress,
    body: bytes,
    headers: httpx.Headers,
    *,
    deadline: _Deadline,
    max_bytes: int,
    verify: ssl.SSLContext | None,
) -> tuple[Answer, str | None]:
    """Send to ``address`` (pinned: the URL's host is replaced by it) and read the capped answer."""
    host = url.raw_host.decode("ascii")
    left = deadline.remaining(f"delivering to {host}")
    watchdog = _Watchdog(left)
    extensions: dict[str, Any] = {"timeout": httpx.Timeout(left).as_dict(), "trace": watchdog.trace}
    if url.scheme == "https" and host != str(address):
        extensions["sni_hostname"] = host  # SNI and the certificate check use the name, not the IP
    request = httpx.Request(
        "POST", url.copy_with(host=str(address)), headers=headers, content=body, extensions=extensions
    )
    try:
        with httpx.Client(trust_env=False, follow_redirects=False, verify=verify or True) as client, watchdog:
            response = client.send(request, stream=True)
            try:
                data, truncated = _read_capped(response, max_bytes, deadline, host)
            finally:
                watchdog.disarm()
                response.close()
    except httpx.TransportError as exc:
        if watchdog.fired or isinstance(exc, httpx.TimeoutException):
            raise DeliveryFailed(f"{host} did not answer within {deadline.budget:g} s") from None
        if isinstance(exc, httpx.ConnectError):
            raise  # the caller tries the next address
        raise DeliveryFailed(f"delivery to {host} failed: {type(exc).__name__}: {exc}") from None
    answer = Answer(status=response.status_code, body=data, truncated=truncated, url=str(url))
    return answer, response.headers.get("location")


def _read_capped(
    response: httpx.Response, max_bytes: int, deadline: _Deadline, host: str
) -> tuple[bytes, bool]:
    """At most ``max_bytes`` of the body, and whether there was more; the rest is never read."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        deadline.remaining(f"reading the answer from {host}")
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
    return b"".join(chunks), False


class _Watchdog:
    """Shuts the connection's socket when the call's deadline passes. Per-read timeouts restart with every
    byte, so a receiver that trickles its headers or body would otherwise hold the worker for ever; shutting
    the socket wakes the blocked read, which then fails."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._armed = True
        self._socket: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore's trace hook: note the socket once connected, and again once TLS wraps it."""
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        with self._lock:
            self._socket = stream.get_extra_info("socket") if stream is not None else None
            if self.fired:
                self._shut()

    def disarm(self) -> None:
        with self._lock:
            self._armed = False
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            if self._armed:
                self.fired = True
                self._shut()

    def _shut(self) -> None:
        if self._socket is None:
            return
        # The plain socket's shutdown even under TLS: SSLSocket.shutdown would drop its state under the
        # reading thread. A socket already closed raises, and is left alone.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self._socket, socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.disarm()
