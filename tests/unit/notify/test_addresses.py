"""Where a delivery may go, without sending anything: which addresses are refused and why, and which URLs
are well-formed destinations."""

from __future__ import annotations

import ipaddress

import pytest

from belvedere.notify.outbound import check_url, refused_reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local (cloud metadata)"),
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.100.100.200", "shared (cloud metadata)"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("192.0.2.1", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd00:ec2::254", "private (cloud metadata)"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "documentation"),
        ("::ffff:10.0.0.1", "private (IPv4-mapped 10.0.0.1)"),
        ("::ffff:127.0.0.1", "loopback (IPv4-mapped 127.0.0.1)"),
        ("2002:0a00:0001::", "private (6to4 10.0.0.1)"),
        ("2002:a9fe:a9fe::1", "link-local (cloud metadata) (6to4 169.254.169.254)"),
        ("64:ff9b::10.0.0.1", "private (NAT64 10.0.0.1)"),
        ("64:ff9b:1::1", "private (local NAT64)"),
        # Teredo: the client's IPv4 address is stored inverted (f5ff:fff5 is 10.0.0.10).
        ("2001:0:4136:e378:8000:63bf:f5ff:fff5", "private (Teredo 10.0.0.10)"),
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "reserved"),  # a public client, but Teredo is not global
        ("::a00:1", "reserved"),  # IPv4-compatible (deprecated): outside global unicast
        ("100::1", "reserved"),  # discard-only
    ],
)
def test_refused_addresses_say_why(address: str, reason: str) -> None:
    assert refused_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:0808:0808::1"],
)
def test_global_unicast_is_allowed(address: str) -> None:
    assert refused_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://hooks.slack.com/services/T0/B0/x", "https://hooks.slack.com/services/T0/B0/x"),
        ("HTTP://Hooks.Example.COM:80/a?b=1#frag", "http://hooks.example.com/a?b=1"),
        ("https://hooks.example:8443", "https://hooks.example:8443/"),
        ("http://[2606:4700:4700:0::1111]:8080/x", "http://[2606:4700:4700::1111]:8080/x"),
        ("http://münchen.example/", "http://xn--mnchen-3ya.example/"),
        # IPv4 in the forms the C resolver reads, rewritten as it reads them: never a "host name".
        ("http://2130706433/", "http://127.0.0.1/"),
        ("http://0177.0.0.1/", "http://127.0.0.1/"),
        ("http://0x7f.1/", "http://127.0.0.1/"),
        ("http://10.1/", "http://10.0.0.1/"),
    ],
)
def test_check_url_normalises(url: str, normalised: str) -> None:
    assert check_url(url) == normalised


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("ftp://hooks.example/x", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("hooks.example/x", "http:// or https://"),
        ("http:///x", "no host"),
        ("http://user:pass@hooks.example/", "user name or password"),
        ("http://hooks.example@10.0.0.1/", "user name or password"),
        ("http://hooks.example:0/", "from 1 to 65535"),
        ("http://hooks.example:70000/", "from 1 to 65535"),
        ("http://hooks.example:+80/", "not a number"),
        ("http://hooks.example/" + "a" * 2_000, "at most 2,000"),
        ("http://hooks.example/a b", "spaces"),
        ("http://hooks.example/a\nb", "control characters"),
        ("http://1.2.3.4.5/", "neither a host name nor an IPv4 address"),
        ("http://256.1.1.1/", "neither a host name nor an IPv4 address"),
        ("http://hooks.123/", "neither a host name nor an IPv4 address"),
        ("http://[::1/", "IPv6"),
        ("http://[fe80::1%25eth0]/", "zone ids"),
        ("http://a..b/", "not a valid host name"),
    ],
)
def test_check_url_refuses_with_a_reason(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        check_url(url)
