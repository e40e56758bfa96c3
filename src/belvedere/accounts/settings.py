"""Per-project settings, validated: what a project may change about how its events are processed."""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field


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

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> ProjectSettings:
        return cls.model_validate(raw or {})


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Paris") from exc
    return name
