"""PostHog's trackers (posthog-js, posthog-python and the other SDKs) pointed at Belvedere: their events as
Belvedere's capture objects.

A PostHog document is one event, a list of events, or ``{"batch": [...]}`` (``api_key`` beside it, or the
project's key as ``token`` in each event's properties: posthog-js). Each event maps by its name:

- ``$pageview`` → a page view (``$current_url``, ``$referrer``, ``title``, the screen and the browser's
  language read as the page's context);
- ``$identify`` → an identify with the ``$set`` traits, and an alias from ``$anon_distinct_id`` (the id
  the person had before) when there is one; ``$set`` → an identify; ``$create_alias`` → an alias of the
  event's id and ``properties.alias``;
- any other event (``$screen``, ``$groupidentify``, ``$ai_generation``…) → that event, its properties kept;
  ``$ai_total_cost_usd`` is its cost.

``timestamp`` is corrected for the sender's clock (``sent_at`` against now, as PostHog does); ``$ip`` is
the address used for the location and is never kept; the project key (``token``) is not a property.
``$set_once`` has no counterpart (a person's traits are set, not set once) and is kept as a property."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from belvedere.ingest.compat import clock
from belvedere.platform.errors import BelvedereError

_NOT_KEPT = ("token", "distinct_id", "$ip", "$raw_user_agent", "$set")
_ALIAS_NAMESPACE = uuid.UUID("6f1c2a9e-4b7d-4c1e-9a53-2d8e0b7f5c31")  # the alias an $identify implies


def unpack(document: Any) -> tuple[list[Any], str | None]:
    """The events of a document, and the project key it names (None: none)."""
    key: Any = None
    if isinstance(document, dict) and "batch" in document:
        events, key = document["batch"], document.get("api_key") or document.get("token")
        if not isinstance(events, list):
            raise BelvedereError("`batch` must be a list of events.", code="invalid_body")
    elif isinstance(document, dict):
        events, key = [document], document.get("api_key") or document.get("$token")
    elif isinstance(document, list):
        events = document
    else:
        raise BelvedereError('Send an event, a list of events or {"batch": [...]}.', code="invalid_body")
    if not key:
        key = next((_token(e) for e in events if _token(e)), None)
    return events, key if isinstance(key, str) and key else None


def _token(event: Any) -> Any:
    if not isinstance(event, dict):
        return None
    properties = event.get("properties")
    found = properties.get("token") if isinstance(properties, dict) else None
    return found or event.get("api_key") or event.get("$token")


def translate(events: list[Any], *, sent_at: Any, now: datetime) -> tuple[list[Any], list[int]]:
    """Belvedere capture objects for PostHog ``events`` (one may become two: an identify and its alias),
    and for each the index of the event it came from. What is not an object is passed on as it is, for
    the capture path to refuse with its reason."""
    skew = clock.skew(sent_at, now)
    out: list[Any] = []
    origins: list[int] = []
    for i, event in enumerate(events):
        made = _one(event, skew) if isinstance(event, dict) else [event]
        out.extend(made)
        origins.extend([i] * len(made))
    return out, origins


def _timestamp(event: dict[str, Any], skew: float) -> Any:
    """The event's time on our clock: its ``timestamp`` moved by the sender's skew (or ``offset`` ms before
    now, as posthog-js sends it); anything unreadable is passed on for the capture path to refuse."""
    raw = event.get("timestamp")
    if clock.when(raw) is not None:
        return clock.on_our_clock(raw, skew)
    offset = event.get("offset")
    if raw is None and isinstance(offset, int | float) and not isinstance(offset, bool):
        return int((datetime.now(UTC).timestamp() - offset / 1000) * 1000)
    return raw


def _one(event: dict[str, Any], skew: float) -> list[dict[str, Any]]:
    properties = event.get("properties")
    props: dict[str, Any] = dict(properties) if isinstance(properties, dict) else {}
    name = event.get("event")
    distinct_id = event.get("distinct_id", props.get("distinct_id", event.get("$distinct_id")))
    traits = event.get("$set", props.get("$set"))
    context: dict[str, Any] = {"page": {}}
    if isinstance(props.get("$ip"), str):
        context["ip"] = props["$ip"]
    if isinstance(props.get("$raw_user_agent"), str):
        context["user_agent"] = props["$raw_user_agent"]
    if isinstance(props.get("$browser_language"), str):
        context["locale"] = props["$browser_language"]
    width, height = props.get("$screen_width"), props.get("$screen_height")
    if isinstance(width, int) and isinstance(height, int):
        context["screen"] = {"width": width, "height": height}
    if isinstance(props.get("title"), str):
        context["page"]["title"] = props["title"]
    kept = {k: v for k, v in props.items() if k not in _NOT_KEPT}
    if "cost" not in kept and "$cost" not in kept and "$ai_total_cost_usd" in kept:
        kept["$cost"] = kept["$ai_total_cost_usd"]
    base: dict[str, Any] = {
        "distinct_id": distinct_id,
        "timestamp": _timestamp(event, skew),
        "properties": kept if properties is None or isinstance(properties, dict) else properties,
        "context": context,
    }
    if event.get("uuid") is not None:
        base["uuid"] = event["uuid"]
    if name == "$pageview":
        return [{**base, "type": "page"}]
    if name in ("$identify", "$set"):
        identify = {**base, "type": "identify", "traits": traits if isinstance(traits, dict) else {}}
        identify["properties"] = kept
        found = [identify]
        anonymous = props.get("$anon_distinct_id")
        if name == "$identify" and isinstance(anonymous, str) and anonymous and anonymous != distinct_id:
            alias = {**base, "type": "alias", "properties": {"alias": anonymous}}
            if "uuid" in base:
                alias["uuid"] = str(uuid.uuid5(_ALIAS_NAMESPACE, str(base["uuid"])))
            found.append(alias)
        return found
    if name == "$create_alias":
        return [{**base, "type": "alias", "properties": {**kept, "alias": props.get("alias")}}]
    return [{**base, "event": name}]
