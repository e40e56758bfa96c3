"""Umami's tracker and its Node client pointed at Belvedere: ``POST /api/send`` ``{"type": "event" |
"identify", "payload": {...}}`` as Belvedere's capture objects. ``payload.website`` carries the project's
write key (where Umami puts its website id).

An ``event`` without ``name`` is a page view of ``hostname`` + ``url`` (or ``url`` itself when it is a whole
address), with ``referrer``, ``title``, ``screen`` ("1920x1080") and ``language``; with ``name`` it is that
event, ``data`` its properties. Umami counts visitors without ids, so the events carry none (``payload.id``
when given): Belvedere's daily-salted visitor hash counts them, as it does its own tracker's. An
``identify`` gives the visitor's traits (``data``) to the person ``payload.id`` names; without an id there is
nobody to give them to, and they are kept as a ``$session_data`` event."""

from __future__ import annotations

from typing import Any

from belvedere.platform.errors import BelvedereError


def unpack(document: Any) -> tuple[dict[str, Any], str, str | None]:
    """The payload, the call's type and the write key (``payload.website``)."""
    if not isinstance(document, dict) or not isinstance(document.get("payload"), dict):
        raise BelvedereError('Send {"type": "event", "payload": {...}}.', code="invalid_body")
    payload: dict[str, Any] = document["payload"]
    kind = document.get("type", "event")
    if kind not in ("event", "identify"):
        raise BelvedereError("`type` is event or identify.", code="invalid_type")
    key = payload.get("website")
    return payload, str(kind), key if isinstance(key, str) and key else None


def _address(payload: dict[str, Any]) -> Any:
    url, host = payload.get("url"), payload.get("hostname")
    if not isinstance(url, str) or url.startswith(("http://", "https://")) or not isinstance(host, str):
        return url
    return f"https://{host}{url if url.startswith('/') else '/' + url}"


def translate(payload: dict[str, Any], kind: str) -> dict[str, Any]:
    """The capture object of one Umami call."""
    data = payload.get("data")
    page = {"url": _address(payload), "referrer": payload.get("referrer"), "title": payload.get("title")}
    context: dict[str, Any] = {"page": page}
    if isinstance(payload.get("language"), str):
        context["locale"] = payload["language"]
    screen = payload.get("screen")
    if isinstance(screen, str) and "x" in screen:
        width, _, height = screen.partition("x")
        if width.isdigit() and height.isdigit():
            context["screen"] = {"width": int(width), "height": int(height)}
    base: dict[str, Any] = {"context": context}
    if payload.get("id") not in (None, ""):
        base["distinct_id"] = payload["id"]
    if kind == "identify":
        if "distinct_id" in base:
            return {**base, "type": "identify", "traits": data if data is not None else {}}
        return {**base, "event": "$session_data", "properties": data if data is not None else {}}
    name = payload.get("name")
    if name in (None, ""):
        return {**base, "type": "page", "properties": data if data is not None else {}}
    return {**base, "event": name, "properties": data if data is not None else {}}
