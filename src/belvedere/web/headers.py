"""Headers added to every response but the capture endpoint's: security policy and rate-limit state."""

from __future__ import annotations

from typing import Any

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'"
)
# Pages meant to be embedded in other sites' iframes: shared dashboards (`/share/…?embed=1`).
EMBEDDABLE_PREFIXES = ("/share/",)


def response_headers(scope: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    path: str = scope["path"]
    embeddable = path.startswith(EMBEDDABLE_PREFIXES)
    csp = _CSP  # the API docs page too: its Swagger UI is vendored and started from a file
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
