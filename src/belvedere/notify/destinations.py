"""Where a delivery may go, judged without sending anything: the syntax of a URL (``check_url``, for the API
to validate a channel's URL as it is saved) and whether an address is on the public internet
(``refused_reason``, which ``outbound.post`` asks about every address it is about to connect to).

Both are allowlists. A URL is http or https with a plain host; an address is global unicast or refused, and
an IPv6 address that carries an IPv4 one (IPv4-mapped, NAT64, 6to4, Teredo) is judged by what it carries
too. Host names whose last label is a number are IPv4 addresses to the C resolver (``2130706433``,
``0177.0.0.1``, ``0x7f.1`` are all 127.0.0.1): ``check_url`` rewrites them as the dotted quad the resolver
would read, so none passes as a name.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2_000

# --- Addresses -----------------------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*cidrs: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


# Named so the refusal can say why; checked in order. What none of these names is still has to be global.
_NAMED: tuple[tuple[str, tuple[Network, ...]], ...] = (
    ("unspecified", _nets("0.0.0.0/8", "::/128")),
    ("loopback", _nets("127.0.0.0/8", "::1/128")),
    ("link-local (cloud metadata)", _nets("169.254.0.0/16")),
    ("link-local", _nets("fe80::/10")),
    ("private", _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")),
    ("private (local NAT64)", _nets("64:ff9b:1::/48")),
    ("shared (CGNAT)", _nets("100.64.0.0/10")),
    ("documentation", _nets("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")),
    ("documentation", _nets("2001:db8::/32", "3fff::/20")),
    ("benchmarking", _nets("198.18.0.0/15", "2001:2::/48")),
    ("multicast", _nets("224.0.0.0/4", "ff00::/8")),
    ("broadcast", _nets("255.255.255.255/32")),
    ("reserved", _nets("240.0.0.0/4", "192.0.0.0/24", "192.88.99.0/24", "100::/64")),
)
_METADATA: dict[IPAddress, str] = {
    ipaddress.ip_address("fd00:ec2::254"): "private (cloud metadata)",  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"): "shared (cloud metadata)",  # Alibaba Cloud
}
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def refused_reason(address: IPAddress) -> str | None:
    """Why connecting to ``address`` is refused ("loopback", "private", ...), or None if it is global
    unicast. IPv4-mapped and NAT64 addresses are the IPv4 address they carry; 6to4 and Teredo addresses are
    refused if the IPv4 address inside is, and are then judged as IPv6 too."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _carried_ipv4(address)
        if inner is not None:
            kind, ipv4 = inner
            reason = refused_reason(ipv4)
            if reason is not None or kind in ("IPv4-mapped", "NAT64"):
                return None if reason is None else f"{reason} ({kind} {ipv4})"
    if address in _METADATA:
        return _METADATA[address]
    for reason, networks in _NAMED:
        # ``in`` across versions compares bare integers (::1 would be "in" 0.0.0.0/8): same version only.
        if any(net.version == address.version and address in net for net in networks):
            return reason
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST_V6:
        return "reserved"
    return None if address.is_global else "reserved"


def _carried_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", address.ipv4_mapped
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    if address.teredo is not None:
        return "Teredo", address.teredo[1]
    return None


# --- URLs ----------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"0x[0-9a-f]*|[0-9]+")
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")


def check_url(url: str) -> str:
    """The URL, normalised, if it may be a delivery destination by its syntax alone (no DNS): http or https,
    a host, no user name or password, a port from 1 to 65535, at most 2,000 characters. IPv4 hosts written as
    one number, in octal or in hex come back as dotted quads. Raises ValueError saying what is wrong."""
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"the URL is {len(url):,} characters long; at most {MAX_URL_LENGTH:,} are allowed")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ValueError("the URL contains spaces or control characters; percent-encode them (%20)")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"the URL cannot be read: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        given = f"{scheme}:" if scheme else "no scheme"
        raise ValueError(f"the URL must start with http:// or https:// (it has {given})")
    if "@" in parts.netloc:
        raise ValueError("the URL must not carry a user name or password (user:pass@); use headers")
    host_text, port = _host_and_port(parts.netloc)
    host = _normal_host(host_text)
    default_port = 443 if scheme == "https" else 80
    authority = host if port in (None, default_port) else f"{host}:{port}"
    query = f"?{parts.query}" if parts.query else ""
    try:
        return str(httpx.URL(f"{scheme}://{authority}{parts.path or '/'}{query}"))
    except httpx.InvalidURL as exc:
        raise ValueError(f"the URL is not valid: {exc}") from None


def _host_and_port(netloc: str) -> tuple[str, int | None]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise ValueError("the URL's IPv6 address has no closing ]")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
    else:
        host, colon, port_text = netloc.partition(":")
        rest = colon + port_text
    if rest in ("", ":"):
        return host, None
    digits = rest[1:]
    if not rest.startswith(":") or not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"the URL's port {rest[1:]!r} is not a number")
    if not 1 <= int(digits) <= 65_535:
        raise ValueError(f"the URL's port must be from 1 to 65535, not {int(digits)}")
    return host, int(digits)


def _normal_host(text: str) -> str:
    if not text:
        raise ValueError("the URL has no host")
    if text.startswith("["):
        try:
            if "%" in text:
                raise ValueError("a zone id")
            return f"[{ipaddress.IPv6Address(text[1:-1]).compressed}]"
        except ValueError:
            raise ValueError(f"{text} is not an IPv6 address (zone ids like %eth0 are not allowed)") from None
    name = text.lower()
    if _NUMBER.fullmatch(name.rstrip(".").rsplit(".", 1)[-1]):
        return str(_ipv4_as_resolver_reads(name.rstrip(".")))
    try:
        ascii_name = httpx.URL(f"http://{name}/").raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        raise ValueError(f"{text!r} is not a valid host name") from None
    if len(ascii_name) > 253 or not _HOST_NAME.fullmatch(ascii_name):
        raise ValueError(f"{text!r} is not a valid host name")
    return ascii_name


def _ipv4_as_resolver_reads(text: str) -> ipaddress.IPv4Address:
    """A host whose last label is a number is an IPv4 address to the C resolver (inet_aton): one to four
    parts, each decimal, octal (leading 0) or hex (0x), the last filling the bytes that remain."""
    parts = text.split(".")
    wrong = ValueError(f"{text!r} is neither a host name nor an IPv4 address")
    if len(parts) > 4 or not all(_NUMBER.fullmatch(part) for part in parts):
        raise wrong
    try:
        numbers = [_ipv4_part(part) for part in parts]
    except ValueError:
        raise wrong from None
    *head, tail = numbers
    if any(n > 255 for n in head) or tail >= 256 ** (5 - len(parts)):
        raise wrong
    return ipaddress.IPv4Address(sum(n << (8 * (3 - i)) for i, n in enumerate(head)) + tail)


def _ipv4_part(text: str) -> int:
    if text.startswith("0x"):
        return int(text[2:] or "0", 16)
    if len(text) > 1 and text.startswith("0"):
        return int(text, 8)
    return int(text)
