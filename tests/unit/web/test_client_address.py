"""Issue #25, finding 7: one rule for the client's address behind the proxies an operator names."""

from __future__ import annotations

from typing import Any

import pytest

from belvedere.web.client_address import ClientAddress


def scope(peer: str, *forwarded: str, header: bytes = b"x-forwarded-for") -> dict[str, Any]:
    return {"client": (peer, 4711), "headers": [(header, value.encode()) for value in forwarded]}


def client_of(resolver: ClientAddress, request: dict[str, Any]) -> str:
    resolver.resolve(request)
    return str(request["client"][0])


PROXIES = ClientAddress(["10.0.0.0/8", "127.0.0.1"], "X-Forwarded-For")


@pytest.mark.parametrize(
    ("request_scope", "client"),
    [
        (scope("127.0.0.1", "198.51.100.7"), "198.51.100.7"),
        # Through two proxies of ours: the rightmost address that is not one of them.
        (scope("127.0.0.1", "198.51.100.7, 10.1.2.3"), "198.51.100.7"),
        # What the client wrote itself is left of what our proxy appended, and never believed.
        (scope("127.0.0.1", "203.0.113.66, 198.51.100.7"), "198.51.100.7"),
        (scope("127.0.0.1", "not-an-ip, 198.51.100.7"), "198.51.100.7"),
        # Several header lines are one list, in order.
        (scope("10.0.0.5", "203.0.113.66", "198.51.100.7"), "198.51.100.7"),
        (scope("127.0.0.1", "[2001:db8::7]:443"), "2001:db8::7"),
        (scope("127.0.0.1", "198.51.100.7:50123"), "198.51.100.7"),
        # Every hop is ours: the leftmost is as close to the client as we know.
        (scope("127.0.0.1", "10.9.9.9, 10.1.1.1"), "10.9.9.9"),
        # A peer that is not a trusted proxy is the client, whatever it claims.
        (scope("198.51.100.9", "203.0.113.66"), "198.51.100.9"),
        # No header, or one only a client could have garbled: the peer stays.
        (scope("127.0.0.1"), "127.0.0.1"),
        (scope("127.0.0.1", "garbage"), "127.0.0.1"),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    request_scope: dict[str, Any], client: str
) -> None:
    assert client_of(PROXIES, request_scope) == client


def test_without_trusted_proxies_no_header_is_believed() -> None:
    assert client_of(ClientAddress([], "x-forwarded-for"), scope("127.0.0.1", "198.51.100.7")) == "127.0.0.1"


def test_the_header_is_the_configured_one() -> None:
    real_ip = ClientAddress(["127.0.0.1"], "X-Real-IP")
    assert client_of(real_ip, scope("127.0.0.1", "198.51.100.7")) == "127.0.0.1"
    assert client_of(real_ip, scope("127.0.0.1", "198.51.100.7", header=b"x-real-ip")) == "198.51.100.7"
