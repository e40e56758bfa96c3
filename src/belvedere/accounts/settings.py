"""Per-project settings, validated: what a project may change about how its events are processed."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator

_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def normal_domain(value: str) -> str:
    """``https://www.Shop.example/`` → ``shop.example``; raises ValueError for anything not a host name."""
    host = value.strip().lower()
    host = re.sub(r"^[a-z]+://", "", host).split("/", 1)[0].split(":", 1)[0].removeprefix("www.")
    if not _HOST.match(host):
        raise ValueError(f"{value!r} is not a domain name such as shop.example")
    return host


class ProjectSettings(BaseModel):
    session_timeout_minutes: int | None = Field(
        None,
        ge=1,
        le=24 * 60,
        description="Inactivity that ends a session; default from the server settings.",
    )
    visitor_id: Literal["hash", "none"] = Field(
        "hash",
        description="`hash`: a daily-salted hash identifies anonymous visitors; "
        "`none`: events without a distinct_id keep no visitor id at all.",
    )

    domains: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Sites allowed to send page events (subdomains included); empty: any site.",
    )
    excluded_ips: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Addresses or networks (CIDR) whose events are dropped, e.g. your office.",
    )
    excluded_paths: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Page paths whose events are dropped; * matches any characters (/admin/*).",
    )

    @field_validator("domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        return _unique([normal_domain(v) for v in values if v.strip()])

    @field_validator("excluded_ips")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        out = []
        for value in values:
            if not value.strip():
                continue
            try:
                out.append(str(ipaddress.ip_network(value.strip(), strict=False)))
            except ValueError:
                raise ValueError(
                    f"{value!r} is not an IP address or network such as 203.0.113.0/24"
                ) from None
        return _unique(out)

    @field_validator("excluded_paths")
    @classmethod
    def _paths(cls, values: list[str]) -> list[str]:
        out = [v.strip() for v in values if v.strip()]
        for value in out:
            if not value.startswith("/") or len(value) > 500:
                raise ValueError(f"{value!r} must be a path starting with / (at most 500 characters)")
        return _unique(out)

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> ProjectSettings:
        return cls.model_validate(raw or {})


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Paris") from exc
    return name
