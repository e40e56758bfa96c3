"""Plausible's Events API (``POST /api/event``), as its tracker script and its server-side users send it:
one event as Belvedere's capture object.

The fields have long names (``name``, ``url``, ``domain``, ``referrer``, ``props``, ``revenue``,
``interactive``) or, from the tracker script, one-letter ones (``n``, ``u``, ``d``, ``r``, ``p``, ``$``,
``i``; ``e`` and ``sd`` on ``engagement`` events). ``pageview`` is a page view; ``engagement`` (how long
the page was looked at, how far it was scrolled) is a ``$engagement`` event with ``engagement_ms`` and
``scroll_depth``; any other name is that event with ``props`` as properties, and ``revenue``
(``{"currency", "amount"}``) as its revenue and ``currency`` property. ``domain`` names the site, which
names the project (``Gatekeeper.project_of_site``); a list of domains (``"a.com,b.com"``) is sent to the
first. Plausible counts visitors without ids, and so do these events: Belvedere's daily-salted hash of the
address and user agent — ``X-Forwarded-For`` carries the visitor's address when a server sends for it."""

from __future__ import annotations

from typing import Any

import orjson

from belvedere.platform.errors import BelvedereError

_LONG: dict[str, str] = {
    "n": "name",
    "u": "url",
    "d": "domain",
    "r": "referrer",
    "p": "props",
    "$": "revenue",
    "i": "interactive",
}


def unpack(document: Any) -> tuple[dict[str, Any], str]:
    """The event's fields under their long names, and the first domain it names."""
    if not isinstance(document, dict):
        raise BelvedereError("Send one event as a JSON object.", code="invalid_body")
    fields: dict[str, Any] = {_LONG.get(str(k), str(k)): v for k, v in document.items()}
    domain = fields.get("domain")
    if not isinstance(domain, str) or not domain.strip():
        message = "`domain` names the site: one of the project's domains, or its write key."
        raise BelvedereError(message, code="missing_domain")
    return fields, domain.split(",")[0].strip()


def translate(fields: dict[str, Any], forwarded_for: str | None) -> dict[str, Any]:
    """The capture object of one Plausible event."""
    props = fields.get("props")
    if isinstance(props, str):  # the older tracker script sends its props as a JSON text
        try:
            props = orjson.loads(props)
        except orjson.JSONDecodeError:
            props = {"props": props}
    properties: Any = props if props is not None else {}
    context: dict[str, Any] = {"page": {"url": fields.get("url"), "referrer": fields.get("referrer")}}
    if forwarded_for:
        context["ip"] = forwarded_for.split(",")[0].strip()
    name = fields.get("name")
    if name == "pageview":
        return {"type": "page", "properties": properties, "context": context}
    if name == "engagement" and isinstance(properties, dict):
        measured = {"engagement_ms": fields.get("e"), "scroll_depth": fields.get("sd")}
        properties = {**properties, **{k: v for k, v in measured.items() if v is not None}}
        return {"event": "$engagement", "properties": properties, "context": context}
    revenue = fields.get("revenue")
    if isinstance(properties, dict) and isinstance(revenue, dict):
        properties = {**properties, "revenue": revenue.get("amount"), "currency": revenue.get("currency")}
    return {"event": name, "properties": properties, "context": context}
