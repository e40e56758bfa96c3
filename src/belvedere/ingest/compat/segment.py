"""Segment's HTTP tracking API (and every Segment library, which speaks it) pointed at Belvedere: its
messages as Belvedere's capture objects.

A message is ``track``, ``page``, ``screen``, ``identify``, ``alias`` or ``group`` — by the path it was
posted to (``/v1/track``…) or, in ``/v1/batch``, by its ``type``. The person is ``userId``, else
``anonymousId``; an ``identify`` naming both links them (an alias), as an ``alias`` links ``previousId`` to
``userId``. ``context.page`` gives the page (``url``, ``referrer``, ``title``), ``context.campaign`` the UTM
tags when the page's address has none, ``context.userAgent`` and ``context.ip`` the device and location
(the address is never kept), ``context.locale`` and ``context.screen`` theirs. ``messageId`` makes a retry
harmless (the same event id each time). Times move by the sender's clock: ``sentAt`` against now, applied
to ``originalTimestamp`` (or ``timestamp``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from belvedere.ingest.compat import clock
from belvedere.platform.errors import BelvedereError

TYPES = ("track", "page", "screen", "identify", "alias", "group")
_MESSAGE_NAMESPACE = uuid.UUID("0b9d8c57-31f2-4d8e-a1c4-6e27f3a5d910")
_CONTEXT = (("userAgent", "user_agent"), ("ip", "ip"), ("locale", "locale"), ("screen", "screen"))
_CAMPAIGN = {"source": "utm_source", "medium": "utm_medium", "name": "utm_campaign", "term": "utm_term"}


def unpack(document: Any, path_type: str | None) -> tuple[list[Any], str | None, Any]:
    """The messages of a document (each with its ``type``), the write key it names, and when it was sent."""
    if not isinstance(document, dict):
        raise BelvedereError('Send a JSON object: one message, or {"batch": [...]}.', code="invalid_body")
    key = document.get("writeKey")
    if path_type is None:  # /v1/batch
        batch = document.get("batch")
        if not isinstance(batch, list):
            raise BelvedereError("`batch` must be a list of messages.", code="invalid_body")
        shared = _object(document.get("context"))
        messages = [_with_context(m, shared) for m in batch]
    else:
        messages = [{**document, "type": path_type}]
    return messages, key if isinstance(key, str) and key else None, document.get("sentAt")


def _with_context(message: Any, shared: dict[str, Any]) -> Any:
    if not isinstance(message, dict) or not shared:
        return message
    own = _object(message.get("context"))
    return {**message, "context": {**shared, **own}}


def translate(messages: list[Any], *, sent_at: Any, now: datetime) -> tuple[list[Any], list[int]]:
    """Belvedere capture objects for Segment ``messages`` (an identify naming both ids is two: the identify
    and the alias linking them), and for each the index of its message. What is not a message is passed on
    for the capture path to refuse with its reason."""
    out: list[Any] = []
    origins: list[int] = []
    for i, message in enumerate(messages):
        made = _one(message, sent_at, now) if isinstance(message, dict) else [message]
        out.extend(made)
        origins.extend([i] * len(made))
    return out, origins


def _context(message: dict[str, Any]) -> dict[str, Any]:
    given = _object(message.get("context"))
    page = dict(_object(given.get("page")))
    properties = _object(message.get("properties"))
    for field in ("url", "referrer", "title"):  # a page call carries its page in its properties too
        if not page.get(field) and isinstance(properties.get(field), str):
            page[field] = properties[field]
    campaign = given.get("campaign")
    if isinstance(page.get("url"), str) and isinstance(campaign, dict) and "utm_" not in page["url"]:
        tags = {tag: campaign[k] for k, tag in _CAMPAIGN.items() if isinstance(campaign.get(k), str)}
        if isinstance(campaign.get("content"), str):
            tags["utm_content"] = campaign["content"]
        if tags:
            joiner = "&" if urlsplit(page["url"]).query else "?"
            page["url"] = f"{page['url']}{joiner}{urlencode(tags)}"
    context: dict[str, Any] = {"page": page}
    for theirs, ours in _CONTEXT:
        if given.get(theirs) is not None:
            context[ours] = given[theirs]
    return context


def _timestamp(message: dict[str, Any], sent_at: Any, now: datetime) -> Any:
    """When it happened (``originalTimestamp``, else ``timestamp``; now when neither), moved by the
    sender's clock when it said when it sent (``sentAt``, its own or its batch's)."""
    stamp = message.get("originalTimestamp", message.get("timestamp"))
    return clock.on_our_clock(stamp, clock.skew(message.get("sentAt", sent_at), now))


def _one(message: dict[str, Any], sent_at: Any, now: datetime) -> list[dict[str, Any]]:
    kind = message.get("type")
    if kind not in TYPES:
        return [{"type": kind}]  # refused by the capture path: invalid_type
    user, anonymous = message.get("userId"), message.get("anonymousId")
    base: dict[str, Any] = {
        "distinct_id": user if user not in (None, "") else anonymous,
        "timestamp": _timestamp(message, sent_at, now),
        "context": _context(message),
    }
    if isinstance(message.get("messageId"), str | int) and not isinstance(message.get("messageId"), bool):
        base["uuid"] = str(uuid.uuid5(_MESSAGE_NAMESPACE, f"{kind}:{message['messageId']}"))
    properties = message.get("properties")
    properties = properties if properties is not None else {}
    if kind == "track":
        return [{**base, "event": message.get("event"), "properties": properties}]
    if kind == "page":
        named = {k: message[k] for k in ("name", "category") if isinstance(message.get(k), str)}
        return [{**base, "type": "page", "properties": _merged(properties, named)}]
    if kind == "screen":
        named = {"$screen_name": message["name"]} if isinstance(message.get("name"), str) else {}
        return [{**base, "event": "$screen", "properties": _merged(properties, named)}]
    if kind == "group":
        group = {"group_id": message.get("groupId"), "traits": message.get("traits") or {}}
        return [{**base, "event": "$group", "properties": group}]
    if kind == "alias":
        return [{**base, "type": "alias", "properties": {"alias": message.get("previousId")}}]
    traits = message.get("traits")
    found = [{**base, "type": "identify", "traits": traits if traits is not None else {}}]
    if user not in (None, "") and anonymous not in (None, "") and str(user) != str(anonymous):
        alias = {**base, "type": "alias", "properties": {"alias": anonymous}}
        if "uuid" in base:
            alias["uuid"] = str(uuid.uuid5(_MESSAGE_NAMESPACE, f"alias:{message['messageId']}"))
        found.append(alias)
    return found


def _merged(properties: Any, named: dict[str, Any]) -> Any:
    return {**named, **properties} if isinstance(properties, dict) else properties


def _object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}
