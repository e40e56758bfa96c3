"""Segment's HTTP tracking API pointed at Belvedere, with the bodies its specification documents: every
message type, the write key as Basic auth or in the body, userId and anonymousId linked by identify,
the page, campaign, user agent and address of `context`, the sender's clock, and retries made harmless by
messageId."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from tests.integration.capture_kit import Running

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def _rows(app: Running, count: int) -> list[dict[str, Any]]:
    assert app.wait_stored(count) == count
    rows = app.runtime.store.recent_events(project_id=app.project.project.id, limit=50)
    return sorted(rows, key=lambda r: r["timestamp"])


def _props(row: dict[str, Any]) -> dict[str, Any]:
    value = row["properties"]
    return orjson.loads(value) if isinstance(value, str) else dict(value or {})


def _visitors(app: Running) -> int:
    r = app.client.post(
        f"/api/v1/projects/{app.project.project.id}/query",
        json={"kind": "trends", "date_from": "-1d", "series": [{"math": "unique_users"}], "totals": True},
        headers=app.read_auth(),
    )
    return int(r.json()["series"][0]["total"])


def test_each_call_of_the_tracking_api(app: Running) -> None:
    auth = _basic(app.project.write_key)
    page = {
        "anonymousId": "anon-7",
        "name": "Pricing",
        "properties": {"plan_shown": "pro"},
        "context": {
            "page": {
                "url": "https://shop.example/pricing",
                "referrer": "https://news.ycombinator.com/item?id=1",
                "title": "Pricing",
            },
            "campaign": {"source": "newsletter", "medium": "email", "name": "launch"},
            "userAgent": CHROME,
            "ip": "81.2.69.160",
        },
        "messageId": "m-page-1",
    }
    assert app.client.post("/v1/page", json=page, headers=auth).json() == {
        "success": True,
        "accepted": 1,
        "dropped": 0,
        "rejected": [],
    }
    calls = [
        ("/v1/track", {"anonymousId": "anon-7", "event": "Added to cart", "properties": {"sku": "A-1"}}),
        (
            "/v1/identify",
            {"userId": "u-42", "anonymousId": "anon-7", "traits": {"plan": "pro"}, "messageId": "i1"},
        ),
        ("/v1/track", {"userId": "u-42", "event": "Order completed", "properties": {"revenue": 49.5}}),
        ("/v1/screen", {"userId": "u-42", "name": "Home"}),
        ("/v1/group", {"userId": "u-42", "groupId": "acme", "traits": {"seats": 5}}),
        ("/v1/alias", {"userId": "u-42", "previousId": "old-id-9"}),
    ]
    for path, body in calls:
        r = app.client.post(path, json=body, headers=auth)
        assert r.status_code == 200 and r.json()["accepted"] >= 1, (path, r.text)
    rows = _rows(app, 8)  # the identify naming both ids is two events: the identify and an alias
    names = [r["event"] for r in rows]
    assert sorted(names) == sorted(
        [
            "$pageview",
            "Added to cart",
            "$identify",
            "$alias",
            "Order completed",
            "$screen",
            "$group",
            "$alias",
        ]
    )
    view = rows[names.index("$pageview")]
    assert (view["path"], view["title"], view["referrer_domain"]) == (
        "/pricing",
        "Pricing",
        "news.ycombinator.com",
    )
    assert (view["utm_source"], view["utm_medium"], view["utm_campaign"]) == ("newsletter", "email", "launch")
    assert (view["browser"], view["country"]) == ("Chrome", "GB")
    assert _props(view) == {"name": "Pricing", "plan_shown": "pro"}
    order = rows[names.index("Order completed")]
    assert order["revenue"] == 49.5
    assert _props(rows[names.index("$screen")])["$screen_name"] == "Home"
    assert _props(rows[names.index("$group")]) == {"group_id": "acme", "traits": {"seats": 5}}
    # anon-7's page view and cart, and u-42's order: one person.
    assert _visitors(app) == 1
    # A retried message (the same messageId) is stored once.
    assert app.client.post("/v1/page", json=page, headers=auth).json()["accepted"] == 1
    app.flush()
    assert app.runtime.store.count_events(project_id=app.project.project.id) == 8


def test_a_batch_with_its_context_clock_and_key_in_the_body(app: Running) -> None:
    now = datetime.now(UTC)
    behind = now - timedelta(hours=2)  # the sender's clock is two hours slow
    batch = {
        "writeKey": app.project.write_key,
        "sentAt": behind.isoformat(),
        "context": {"userAgent": CHROME},
        "batch": [
            {
                "type": "track",
                "userId": "u1",
                "event": "Signed up",
                "originalTimestamp": (behind - timedelta(minutes=30)).isoformat(),
            },
            {"type": "bogus", "userId": "u1"},
            {"type": "page", "userId": "u1", "properties": {"url": "https://shop.example/docs"}},
            "junk",
        ],
    }
    r = app.client.post("/v1/batch", json=batch)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["success"] is True and answer["accepted"] == 2
    assert [x["index"] for x in answer["rejected"]] == [1, 3]
    rows = _rows(app, 2)
    signed = next(r for r in rows if r["event"] == "Signed up")
    stored = datetime.fromisoformat(signed["timestamp"]).replace(tzinfo=UTC)
    assert abs((stored - (now - timedelta(minutes=30))).total_seconds()) < 60
    assert {r["browser"] for r in rows} == {"Chrome"}  # the batch's context, on every message
    assert next(r for r in rows if r["event"] == "$pageview")["path"] == "/docs"


def test_refusals_say_what_to_fix(app: Running) -> None:
    body = {"userId": "u1", "event": "x"}
    assert app.client.post("/v1/track", json=body).json()["error"]["code"] == "missing_write_key"
    assert app.client.post("/v1/track", json=body, headers=_basic("bw_wrong")).status_code == 401
    assert app.client.get("/v1/track", headers=_basic(app.project.write_key)).status_code == 405
    broken = app.client.post("/v1/batch", json={"batch": "nope"}, headers=_basic(app.project.write_key))
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_body"
    nameless = app.client.post("/v1/track", json={"userId": "u1"}, headers=_basic(app.project.write_key))
    assert nameless.status_code == 200 and nameless.json()["rejected"][0]["error"]["code"] == "missing_event"
