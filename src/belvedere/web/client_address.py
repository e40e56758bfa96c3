"""The client's address behind reverse proxies you run: one rule for the whole app.

Only a request whose immediate peer is one of ``server.trusted_proxies`` has its forwarding header read. The
header's hops are read from the right (each proxy appends the address it saw), skipping trusted proxies; the
first address that is not one of them is the client. What a client writes into the header itself lies to the
left of that and is never believed. Capture (geolocation, visitor hash), login and share-password throttles,
rate limits and the security log all see the address chosen here, because it replaces the ASGI scope's
``client`` before anything else runs.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

Address = IPv4Address | IPv6Address


def _parse(hop: str) -> Address | None:
    """The address of a hop: ``203.0.113.9``, ``203.0.113.9:4711``, ``2001:db8::1``, ``[2001:db8::1]:443``."""
    hop = hop.strip().strip('"')
    if hop.startswith("["):
        hop = hop[1 : hop.find("]")] if "]" in hop else ""
    elif hop.count(":") == 1:
        hop = hop.split(":")[0]
    try:
        return ip_address(hop)
    except ValueError:
        return None


class ClientAddress:
    def __init__(self, trusted_proxies: list[str], header: str) -> None:
        self._networks = [ip_network(n, strict=False) for n in trusted_proxies]
        self._header = header.lower().encode("latin-1")

    def _trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self._networks)

    def resolve(self, scope: dict[str, Any]) -> None:
        """Replace ``scope["client"]`` by the client the trusted proxies report, if the peer is one."""
        client = scope.get("client")
        if not self._networks or not client or not self._trusted(_parse(str(client[0]))):
            return
        values = [v.decode("latin-1") for k, v in scope["headers"] if k == self._header]
        hops = [hop for value in values for hop in value.split(",")]
        chosen: Address | None = None
        for hop in reversed(hops):
            address = _parse(hop)
            if address is None:  # not written by a proxy of ours: stop at what they vouched for
                break
            chosen = address
            if not self._trusted(address):
                break
        if chosen is not None:
            scope["client"] = (str(chosen), 0)
