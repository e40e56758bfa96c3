"""A project's own filters: events from other sites than its domains, from excluded addresses (an office, a
monitoring service) or on excluded paths are dropped before they are stored. Runs after the source step
(host and path are known) and while the transient IP is still at hand."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from fnmatch import translate
from functools import lru_cache

from belvedere.accounts.service import ProjectInfo
from belvedere.ingest.validate import ParsedEvent

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Rules:
    domains: tuple[str, ...]
    networks: tuple[Network, ...]
    paths: re.Pattern[str] | None


@lru_cache(maxsize=1024)
def _rules(domains: tuple[str, ...], networks: tuple[str, ...], paths: tuple[str, ...]) -> Rules:
    pattern = re.compile("|".join(f"(?:{translate(p)})" for p in paths)) if paths else None
    return Rules(domains, tuple(ipaddress.ip_network(n) for n in networks), pattern)


def _allowed_host(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _excluded_ip(ip: str, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


class ExclusionStep:
    name = "exclusions"

    def __call__(self, event: ParsedEvent, project: ProjectInfo) -> str | None:
        settings = project.settings
        if not (settings.domains or settings.excluded_ips or settings.excluded_paths):
            return None
        rules = _rules(tuple(settings.domains), tuple(settings.excluded_ips), tuple(settings.excluded_paths))
        host, path = event.row.get("host"), event.row.get("path")
        if rules.domains and host and not _allowed_host(host, rules.domains):
            return "foreign_domain"
        if rules.networks and event.ip and _excluded_ip(event.ip, rules.networks):
            return "excluded_ip"
        if rules.paths is not None and path and rules.paths.match(path):
            return "excluded_path"
        return None
