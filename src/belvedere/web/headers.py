"""Headers added to every response but the capture endpoint's: security policy and rate-limit state."""

from __future__ import annotations

from typing import Any

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'"
)
# The interactive API docs are FastAPI's Swagger UI page, which runs an inline script.
_DOCS_CSP = (
    "default-src 'self' https://cdn.jsdelivr.net; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; object-src 'none'"
)
# Pages meant to be embedded in other sites' iframes (shared dashboards).
EMBEDDABLE_PREFIXES = ("/share/", "/embed/")


def response_headers(scope: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    path: str = scope["path"]
    embeddable = path.startswith(EMBEDDABLE_PREFIXES)
    csp = _DOCS_CSP if path in ("/docs", "/redoc") else _CSP
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"content-security-policy", (csp + ("" if embeddable else "; frame-ancestors 'none'")).encode()),
    ]
    if not embeddable:
        headers.append((b"x-frame-options", b"DENY"))
    if scope.get("scheme") == "https":
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    state = scope.get("state") or {}
    for name, value in (state.get("rate_limit_headers") or {}).items():
        if name != "Retry-After":  # a refusal carries its own
            headers.append((name.lower().encode(), value.encode()))
    return headers
