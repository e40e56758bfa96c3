"""Umami's ``/api/send`` pointed at Belvedere, with the bodies its tracker sends: page views of hostname and
path, custom events with their data, identify with and without an id; the write key where Umami puts its
website id; refusals with the reason."""

from __future__ import annotations

from typing import Any

import orjson
from tests.integration.capture_kit import Running

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def _props(row: dict[str, Any]) -> dict[str, Any]:
    value = row["properties"]
    return orjson.loads(value) if isinstance(value, str) else dict(value or {})


def test_the_tracker_s_calls(app: Running) -> None:
    key = app.project.write_key
    page = {
        "website": key,
        "hostname": "shop.example",
        "url": "/pricing?utm_source=newsletter",
        "referrer": "https://duckduckgo.com/",
        "title": "Pricing",
        "screen": "1920x1080",
        "language": "fr-FR",
    }
    calls = [
        {"type": "event", "payload": page},
        {"type": "event", "payload": {**page, "name": "signup-click", "data": {"plan": "pro"}}},
        {"type": "identify", "payload": {"website": key, "id": "user-9", "data": {"company": "Acme"}}},
        {"type": "identify", "payload": {"website": key, "data": {"theme": "dark"}}},
    ]
    for body in calls:
        r = app.client.post("/api/send", json=body, headers={"User-Agent": CHROME})
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == 1 and r.json()["cache"] == ""
    assert app.wait_stored(4) == 4
    rows = {
        r["event"]: r for r in app.runtime.store.recent_events(project_id=app.project.project.id, limit=10)
    }
    assert set(rows) == {"$pageview", "signup-click", "$identify", "$session_data"}
    view = rows["$pageview"]
    assert (view["host"], view["path"], view["utm_source"]) == ("shop.example", "/pricing", "newsletter")
    assert (view["referrer_domain"], view["channel"], view["title"]) == (
        "duckduckgo.com",
        "Email",
        "Pricing",
    )
    assert (view["screen"], view["locale"], view["browser"]) == ("1920x1080", "fr-FR", "Chrome")
    assert view["distinct_id"] is not None  # the daily-salted visitor hash, as for Belvedere's own tracker
    assert _props(rows["signup-click"]) == {"plan": "pro"}
    assert rows["$identify"]["distinct_id"] == "user-9"
    assert _props(rows["$session_data"]) == {"theme": "dark"}


def test_refusals_say_what_to_fix(app: Running) -> None:
    assert app.client.post("/api/send", json={"type": "event", "payload": {"url": "/"}}).status_code == 401
    wrong = {"type": "event", "payload": {"website": "bw_wrong", "url": "/"}}
    assert app.client.post("/api/send", json=wrong).status_code == 401
    bad = app.client.post("/api/send", json={"type": "track", "payload": {"website": app.project.write_key}})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_type"
    none = app.client.post("/api/send", json={"payload": "x"})
    assert none.status_code == 400 and none.json()["error"]["code"] == "invalid_body"
    assert app.client.get("/api/send").status_code == 405
    assert app.runtime.store.count_events(project_id=app.project.project.id) == 0
