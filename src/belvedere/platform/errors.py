"""The one error hierarchy: every refusal a use case raises carries its stable code and HTTP status, and
the adapters map it once — the API to the JSON envelope, the pages to a message on the page, the CLI to
its exit. Use cases raise these and never an adapter's own exception."""

from __future__ import annotations

from typing import Any, ClassVar


class BelvedereError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers
        if code is not None:
            self.code = code  # type: ignore[misc]
        if status is not None:
            self.status = status  # type: ignore[misc]


class Unauthorized(BelvedereError):
    status, code = 401, "unauthorized"


class Forbidden(BelvedereError):
    status, code = 403, "forbidden"


class NotFound(BelvedereError):
    status, code = 404, "not_found"


class Conflict(BelvedereError):
    """The change clashes with existing data (a taken email or slug, the last owner leaving…)."""

    status, code = 409, "conflict"


class Invalid(BelvedereError):
    status, code = 422, "invalid_request"


class TooMany(BelvedereError):
    status, code = 429, "rate_limited"


class Unavailable(BelvedereError):
    """Cannot be answered now, though the request is fine: retry later (``headers`` says when)."""

    status, code = 503, "unavailable"
