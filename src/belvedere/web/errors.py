"""The one error shape every endpoint answers with: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import re
import uuid
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

from belvedere.platform.errors import BelvedereError

log = structlog.get_logger(__name__)


class ApiError(BelvedereError):
    """An error an adapter raises as is: status, stable code, a message saying what to do next. (Use cases
    raise the kinds of ``platform.errors``; both are answered by the same handler.)"""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status, details=details, headers=headers)


def error_body(code: str, message: str, details: Any = None, request_id: str | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    if request_id is not None:
        error["request_id"] = request_id
    return orjson.dumps({"error": error})


_SANE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")


def request_id_of(scope: MutableMapping[str, Any]) -> str:
    """The request's id: the caller's ``X-Request-Id`` if it is a short plain token (a proxy's or load
    balancer's, so logs line up), else a new one. Kept in the scope's state for handlers and the log."""
    state = scope.setdefault("state", {})
    known: str | None = state.get("request_id")
    if known is not None:
        return known
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id" and _SANE_ID.fullmatch(value):
            known = value.decode()
            break
    state["request_id"] = known = known or uuid.uuid4().hex
    return known


STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


async def send_error(
    send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Answer a raw ASGI request with an error body made by ``error_body``."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


UNEXPECTED = (
    "Something went wrong on our side; the error is logged under this request's id. Retry; if it happens "
    "again, give the id to the server's operator."
)


async def unexpected_error(scope: MutableMapping[str, Any], send: Any, *, answered: bool) -> None:
    """After an exception escaped a request's handler: log it with the request id and, unless an answer
    has started already, answer 500 with the envelope. Called from an ``except`` block."""
    request_id = request_id_of(scope)
    log.exception("request.failed", request_id=request_id, method=scope["method"], path=scope["path"])
    if not answered:
        await send_error(send, 500, error_body("internal_error", UNEXPECTED, request_id=request_id))
