"""Per-project settings, validated: what a project may change about how its events are processed."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator

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


class SavedGoal(BaseModel):
    """A conversion the project tracks, named on its pages: an event (with ``revenue``: its `revenue`
    values are money, summed in the goal's row), or views of pages a path pattern matches (``*`` any
    characters but ``/``, ``**`` any characters)."""

    name: str = Field(min_length=1, max_length=100)
    event: str | None = Field(None, min_length=1, max_length=200)
    page: str | None = Field(None, min_length=1, max_length=500)
    revenue: bool = Field(False, description="A revenue goal: the event's `revenue` is money.")

    @model_validator(mode="after")
    def _one_of(self) -> SavedGoal:
        if (self.event is None) == (self.page is None):
            raise ValueError("a goal is an event or a page pattern: one of them")
        if self.page is not None and not self.page.startswith("/"):
            raise ValueError(f"{self.page!r} must be a path starting with / (such as /blog/*)")
        if self.revenue and self.event is None:
            raise ValueError("a revenue goal is an event that carries revenue, not a page")
        return self


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

    goals: list[SavedGoal] = Field(
        default_factory=list, max_length=20, description="Conversions the pages show (the goals panel)."
    )
    currency: str = Field(
        "USD",
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code the pages show revenue in (revenue values are not converted).",
    )

    @field_validator("goals")
    @classmethod
    def _goal_names(cls, values: list[SavedGoal]) -> list[SavedGoal]:
        names = [g.name.strip().lower() for g in values]
        if len(set(names)) != len(names):
            raise ValueError("two goals have the same name: give each its own")
        return values

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
