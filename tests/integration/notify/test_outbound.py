"""The outbound client against a real server on 127.0.0.1: what it refuses before sending, where it really
connects, how it follows redirects, and how a slow, silent or huge receiver cannot hold the worker."""

from __future__ import annotations

import ipaddress
import time
import tracemalloc
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
from tests.integration.notify.outbound_kit import BIG, Receiver, authority, receiving, unused_port

from belvedere.notify.outbound import ALLOW_SETTING, DeliveryFailed, DestinationRefused, post

BODY = b'{"event": "alert.fired", "id": 7}'
HEADERS = {"Content-Type": "application/json", "X-Belvedere-Signature": "sha256=abc"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


def names(mapping: dict[str, list[str]], calls: list[str] | None = None) -> Callable[[str, int], list[str]]:
    """A resolver that knows only ``mapping`` (and records each name it is asked)."""

    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return mapping[host]

    return resolve


def redirect(code: int, to: str) -> str:
    return f"/redirect/{code}?to={quote(to, safe='')}"


# --- Refused before anything is sent -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/echo",
        "http://localhost:{port}/echo",  # the system resolver's answer is checked
        "http://2130706433:{port}/echo",  # 127.0.0.1 as one decimal number
        "http://0177.0.0.1:{port}/echo",  # ... in octal
        "http://[::ffff:127.0.0.1]:{port}/echo",
    ],
)
def test_loopback_is_refused_and_the_server_receives_nothing(receiver: Receiver, url: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        post(url.format(port=receiver.port), BODY, HEADERS, allow_private=False)
    assert "loopback" in str(refused.value) and ALLOW_SETTING in str(refused.value)
    assert receiver.requests == []


def test_a_numeric_host_is_the_address_the_resolver_reads(receiver: Receiver) -> None:
    """``2130706433`` really is 127.0.0.1: allowed, it reaches the server there."""
    answer = post(f"http://2130706433:{receiver.port}/echo", BODY, HEADERS, allow_private=True)
    assert answer.status == 200 and receiver.paths() == ["/echo"]


def test_a_name_that_resolves_to_a_private_address_is_refused() -> None:
    with pytest.raises(DestinationRefused, match=r"resolves to 10\.0\.0\.1, a private address"):
        post(
            "https://hooks.example/x",
            BODY,
            HEADERS,
            allow_private=False,
            resolve=names({"hooks.example": ["10.0.0.1"]}),
        )


def test_one_private_answer_among_public_ones_is_enough_to_refuse(receiver: Receiver) -> None:
    resolve = names({"hooks.example": ["8.8.8.8", "127.0.0.1"]})
    with pytest.raises(DestinationRefused, match=r"127\.0\.0\.1"):
        post(
            f"http://hooks.example:{receiver.port}/echo", BODY, HEADERS, allow_private=False, resolve=resolve
        )
    assert receiver.requests == []


def test_a_bad_url_is_refused() -> None:
    with pytest.raises(DestinationRefused, match="http:// or https://"):
        post("ftp://hooks.example/x", BODY, HEADERS, allow_private=True)


# --- Pinned to the checked address (DNS rebinding) -----------------------------------------------------


def test_rebinding_to_loopback_after_the_check_does_not_reach_it(receiver: Receiver) -> None:
    """The name is public when checked and loopback on any later lookup: the request must go to the
    public address (unreachable here, so it fails) and never to the server on 127.0.0.1."""
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["8.8.8.8"] if len(calls) == 1 else ["127.0.0.1"]

    with pytest.raises(DeliveryFailed):
        post(
            f"http://rebind.invalid:{receiver.port}/echo",
            BODY,
            HEADERS,
            allow_private=False,
            resolve=rebinding,
            timeout=0.5,
        )
    assert calls == ["rebind.invalid"]
    assert receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_resolved(receiver: Receiver) -> None:
    """``rebind.invalid`` resolves nowhere in real DNS, and a second call of ``resolve`` gives 127.0.0.2
    where nothing listens: only a client that connects to the first answer reaches the server."""
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["127.0.0.2"]

    url = f"http://rebind.invalid:{receiver.port}/echo"
    answer = post(url, BODY, HEADERS, allow_private=True, resolve=rebinding)
    assert (answer.status, answer.body, answer.url) == (200, BODY, url)
    assert calls == ["rebind.invalid"]
    assert receiver.requests[0].headers["host"] == f"rebind.invalid:{receiver.port}"


def test_tls_names_the_host_while_connecting_to_the_pinned_address() -> None:
    """The certificate names hooks.example and holds no IP address: the handshake succeeds only if SNI and
    the certificate check use the name while the socket goes to 127.0.0.1."""
    ca = authority()
    with receiving(tls=ca.server("hooks.example")) as receiver:
        resolve = names({"hooks.example": ["127.0.0.1"]})
        url = f"https://hooks.example:{receiver.port}/echo"
        answer = post(url, BODY, HEADERS, allow_private=True, resolve=resolve, verify=ca.client)
        assert (answer.status, answer.body) == (200, BODY)
        assert receiver.server_names == ["hooks.example"]
        assert receiver.requests[0].headers["host"] == f"hooks.example:{receiver.port}"


def test_a_certificate_for_another_name_fails() -> None:
    ca = authority()
    with receiving(tls=ca.server("hooks.example")) as receiver:
        resolve = names({"impostor.example": ["127.0.0.1"]})
        with pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED"):
            url = f"https://impostor.example:{receiver.port}/echo"
            post(url, BODY, HEADERS, allow_private=True, resolve=resolve, verify=ca.client)
        assert receiver.requests == []


# --- Answers ---------------------------------------------------------------------------------------------


def test_a_delivery_carries_the_body_and_headers(receiver: Receiver) -> None:
    resolve = names({"hooks.example": ["127.0.0.1"]})
    answer = post(
        f"http://hooks.example:{receiver.port}/echo", BODY, HEADERS, allow_private=True, resolve=resolve
    )
    assert (answer.status, answer.body, answer.truncated) == (200, BODY, False)
    got = receiver.requests[0]
    assert got.body == BODY
    assert got.headers["host"] == f"hooks.example:{receiver.port}"
    assert got.headers["user-agent"] == "Belvedere-Webhooks/1"
    assert got.headers["x-belvedere-signature"] == "sha256=abc"
    assert got.headers["content-type"] == "application/json"


def test_a_callers_user_agent_is_kept(receiver: Receiver) -> None:
    post(receiver.url("/echo"), BODY, {"User-Agent": "Custom/2"}, allow_private=True)
    assert receiver.requests[0].headers["user-agent"] == "Custom/2"


def test_a_server_error_is_an_answer_not_an_exception(receiver: Receiver) -> None:
    answer = post(receiver.url("/status/500"), BODY, HEADERS, allow_private=True)
    assert (answer.status, answer.body) == (500, b"status 500")


# --- Redirects -----------------------------------------------------------------------------------------


def test_a_redirect_chain_is_followed_with_the_same_body(receiver: Receiver) -> None:
    final = receiver.url("/echo")
    start = receiver.url(redirect(302, receiver.url(redirect(307, final))))
    answer = post(start, BODY, HEADERS, allow_private=True)
    assert (answer.status, answer.body, answer.url) == (200, BODY, final)
    assert [p.split("?")[0] for p in receiver.paths()] == ["/redirect/302", "/redirect/307", "/echo"]
    assert all(r.body == BODY for r in receiver.requests)


def test_credentials_stay_with_the_first_origin_but_the_signature_follows(receiver: Receiver) -> None:
    resolve = names({"first.example": ["127.0.0.1"], "second.example": ["127.0.0.1"]})
    moved = f"http://second.example:{receiver.port}/echo"
    headers = {**HEADERS, "Authorization": "Bearer secret", "Cookie": "session=1"}
    post(
        f"http://first.example:{receiver.port}{redirect(308, moved)}",
        BODY,
        headers,
        allow_private=True,
        resolve=resolve,
    )
    first, second = receiver.requests
    assert first.headers["authorization"] == "Bearer secret" and first.headers["cookie"] == "session=1"
    assert "authorization" not in second.headers and "cookie" not in second.headers
    assert second.headers["x-belvedere-signature"] == "sha256=abc"
    assert second.headers["host"] == f"second.example:{receiver.port}"


@pytest.mark.parametrize("target", ["http://127.0.0.2:{port}/echo", "http://internal.example:{port}/echo"])
def test_a_redirect_to_a_private_address_is_refused(receiver: Receiver, target: str) -> None:
    """The first hop is allowed (its one address is let through by ``allow_networks``); the redirect leads
    to another loopback address, by literal or by name, where a second server would take it."""
    with receiving("127.0.0.2") as inside:
        resolve = names({"hooks.example": ["127.0.0.1"], "internal.example": ["127.0.0.2"]})
        start = f"http://hooks.example:{receiver.port}{redirect(302, target.format(port=inside.port))}"
        with pytest.raises(DestinationRefused, match=r"redirects to .* 127\.0\.0\.2, a loopback address"):
            post(
                start,
                BODY,
                HEADERS,
                allow_private=False,
                allow_networks=[ipaddress.ip_network("127.0.0.1/32")],
                resolve=resolve,
            )
        assert len(receiver.requests) == 1
        assert inside.requests == []


def test_more_redirects_than_allowed_fail(receiver: Receiver) -> None:
    loop = receiver.url("/redirect/302?to=" + quote("/redirect/302?to=/echo", safe=""))
    again = receiver.url(redirect(302, receiver.url(redirect(302, loop))))
    with pytest.raises(DeliveryFailed, match="more than 2 times") as failed:
        post(again, BODY, HEADERS, allow_private=True, max_redirects=2)
    assert failed.value.status == 302
    assert len(receiver.requests) == 3  # the first request and two redirects, never the /echo at the end


def test_see_other_fails_rather_than_dropping_the_body(receiver: Receiver) -> None:
    with pytest.raises(DeliveryFailed, match="303") as failed:
        post(receiver.url(redirect(303, "/echo")), BODY, HEADERS, allow_private=True)
    assert failed.value.status == 303
    assert receiver.paths() == [redirect(303, "/echo")]


def test_a_redirect_to_another_scheme_is_refused(receiver: Receiver) -> None:
    with pytest.raises(DestinationRefused, match="http:// or https://"):
        post(receiver.url(redirect(302, "file:///etc/passwd")), BODY, HEADERS, allow_private=True)


# --- Huge, slow and absent receivers --------------------------------------------------------------------


def test_a_huge_answer_is_cut_at_the_limit_without_reading_it_all(receiver: Receiver) -> None:
    tracemalloc.start()
    started = time.monotonic()
    try:
        answer = post(receiver.url("/big"), BODY, HEADERS, allow_private=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (len(answer.body), answer.truncated) == (65_536, True)
    assert time.monotonic() - started < 2
    assert peak < 2 * 1024 * 1024  # well under the 10 MB sent
    assert receiver.big_over.wait(5)  # the client hung up: the server's next write fails
    assert not receiver.big_finished and receiver.big_bytes_sent < BIG


def test_a_body_that_fits_the_limit_exactly_is_not_truncated(receiver: Receiver) -> None:
    answer = post(receiver.url("/echo"), BODY, HEADERS, allow_private=True, max_response_bytes=len(BODY))
    assert (answer.body, answer.truncated) == (BODY, False)


@pytest.mark.parametrize("path", ["/silent", "/trickle-head", "/trickle-body"])
def test_a_receiver_that_never_finishes_fails_by_the_deadline(receiver: Receiver, path: str) -> None:
    """Silent: the read timeout. Trickling a byte every 0.2 s (in the headers, or in the body) restarts
    every read timeout: only the call's own deadline stops it."""
    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match=r"did not answer within 1 s|took longer than 1 s"):
        post(receiver.url(path), BODY, HEADERS, allow_private=True, timeout=1.0)
    assert 0.9 <= time.monotonic() - started < 1.6
    assert receiver.paths() == [path]


def test_the_deadline_holds_under_tls_too() -> None:
    """The socket that the deadline shuts is the one TLS wraps: a trickle inside TLS is cut as well."""
    ca = authority()
    with receiving(tls=ca.server("hooks.example")) as receiver:
        resolve = names({"hooks.example": ["127.0.0.1"]})
        url = f"https://hooks.example:{receiver.port}/trickle-head"
        started = time.monotonic()
        with pytest.raises(DeliveryFailed, match="did not answer within 1 s"):
            post(url, BODY, HEADERS, allow_private=True, resolve=resolve, verify=ca.client, timeout=1.0)
        assert 0.9 <= time.monotonic() - started < 1.6


def test_a_refused_connection_fails() -> None:
    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match="could not connect") as failed:
        post(f"http://127.0.0.1:{unused_port()}/echo", BODY, HEADERS, allow_private=True)
    assert failed.value.status is None
    assert time.monotonic() - started < 1
