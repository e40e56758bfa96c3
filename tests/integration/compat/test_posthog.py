"""PostHog's trackers pointed at Belvedere: every body its clients send (JSON, gzip declared or not, base64
and lz64 forms, an image beacon's query) reaches the store through the one capture path, mapped to
Belvedere's events and identities; the configuration posthog-js asks for answers with no features; bad
requests get PostHog-shaped refusals with Belvedere's codes. The official Python client against a real
server: tests/e2e/test_posthog_client.py."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import lzstring
import orjson
import pytest
from tests.integration.capture_kit import Running

from belvedere.platform.errors import BelvedereError

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
# LZ-String's compressToBase64 of JS_EVENTS[0:1] as JSON, made by the lz-string npm package (1.5.0).
LZ64_ONE = (
    "NobwRApgbhB2AuYBcYAkAHAhgc2gSwgHcwAaMdAJwHt0IL4CBnZceKgazmTHdLQGMArhQpx4AfWEAbbgAt48dIyQB6FQA8AdBHWY"
    "AtuikQV/TADMAlwH4AjgF4AP3wh6qAKzzdAPBuBI/YAEHGAAvkEAukA="
)


def _rows(app: Running, count: int) -> list[dict[str, Any]]:
    assert app.wait_stored(count) == count
    rows = app.runtime.store.recent_events(project_id=app.project.project.id, limit=50)
    return sorted(rows, key=lambda r: r["timestamp"])


def _props(row: dict[str, Any]) -> dict[str, Any]:
    value = row["properties"]
    return orjson.loads(value) if isinstance(value, str) else dict(value or {})


def _js_event(name: str, key: str, **props: Any) -> dict[str, Any]:
    return {"event": name, "properties": {"token": key, "distinct_id": "anon-1", **props}}


def test_a_python_client_batch_gzipped_with_its_identities(app: Running) -> None:
    now = datetime.now(UTC)
    at = (now - timedelta(minutes=5)).isoformat()
    batch = [
        {
            "event": "$pageview",
            "distinct_id": "anon-1",
            "properties": {"$current_url": "https://shop.example/pricing?x=1", "$ip": "81.2.69.160"},
            "timestamp": at,
            "uuid": "01939c5e-7c5a-7000-8000-000000000001",
        },
        {"event": "signup", "distinct_id": "anon-1", "properties": {"plan": "pro"}, "timestamp": at},
        {"event": "$set", "distinct_id": "user-1", "$set": {"email_domain": "example.com"}, "timestamp": at},
        {
            "event": "$create_alias",
            "distinct_id": "user-1",
            "properties": {"alias": "anon-1"},
            "timestamp": at,
        },
    ]
    body = gzip.compress(
        orjson.dumps({"api_key": app.project.write_key, "batch": batch, "sent_at": now.isoformat()})
    )
    r = app.client.post(
        "/batch/", content=body, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"status": 1, "accepted": 4, "dropped": 0, "rejected": []}
    rows = _rows(app, 4)
    by_name = {row["event"]: row for row in rows}
    assert set(by_name) == {"$pageview", "signup", "$identify", "$alias"}
    view = by_name["$pageview"]
    assert (view["path"], view["uuid"]) == ("/pricing", "01939c5e-7c5a-7000-8000-000000000001")
    assert view["country"] == "GB"  # from $ip, which is not kept
    assert "$ip" not in _props(view)
    assert _props(by_name["signup"]) == {"plan": "pro"}
    # The alias joins anon-1's events to user-1: one visitor.
    stats = app.client.post(
        f"/api/v1/projects/{app.project.project.id}/query",
        json={"kind": "trends", "date_from": "-1d", "series": [{"math": "unique_users"}], "totals": True},
        headers=app.read_auth(),
    )
    assert stats.json()["series"][0]["total"] == 1


def test_the_browser_tracker_s_bodies_all_reach_the_store(app: Running) -> None:
    key = app.project.write_key
    sent = 0
    raw_gzip = gzip.compress(
        orjson.dumps([_js_event("$pageview", key, **{"$current_url": "https://x.example/a"})])
    )
    r = app.client.post(
        "/e/?compression=gzip-js&ip=1&_=1733600000000",
        content=raw_gzip,
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    sent += 1
    sniffed = app.client.post(
        "/i/v0/e/", content=raw_gzip, headers={"Content-Type": "text/plain", "User-Agent": CHROME}
    )
    assert sniffed.status_code == 200 and sniffed.json()["accepted"] == 1, sniffed.text
    sent += 1
    encoded = base64.b64encode(orjson.dumps(_js_event("clicked", key, button="buy"))).decode()
    form = app.client.post(
        "/capture/",
        content=f"data={quote(encoded)}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 200 and form.json()["accepted"] == 1, form.text
    sent += 1
    lz = app.client.post(
        "/e/?compression=lz64",
        content=f"data={quote(LZ64_ONE)}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Bearer {key}"},
    )
    assert lz.status_code == 200 and lz.json()["accepted"] == 1, lz.text
    sent += 1
    beacon = app.client.get(f"/e/?data={quote(encoded)}")
    assert beacon.status_code == 200 and beacon.json()["accepted"] == 1, beacon.text
    sent += 1
    rows = _rows(app, sent)
    urls = sorted(r["url"] for r in rows if r["url"])
    assert urls == ["https://x.example/a", "https://x.example/a", "https://x.example/café?q=ü"]
    emoji = next(r for r in rows if r["url"] == "https://x.example/café?q=ü")
    assert _props(emoji)["emoji"] == "🎉 ok"
    assert all("token" not in _props(r) for r in rows)
    chrome = [r for r in rows if r["browser"] == "Chrome"]
    assert len(chrome) == 1  # the request's own user agent, for the one sent by a browser


def test_identify_links_the_anonymous_id_and_the_clock_is_corrected(app: Running) -> None:
    key = app.project.write_key
    now = datetime.now(UTC)
    behind = now - timedelta(hours=1)  # the sender's clock is an hour slow
    events = [
        {
            **_js_event("$pageview", key, **{"$current_url": "https://x.example/"}),
            "timestamp": (behind - timedelta(minutes=10)).isoformat(),
        },
        {
            "event": "$identify",
            "properties": {"token": key, "distinct_id": "ann", "$anon_distinct_id": "anon-1"},
            "$set": {"plan": "pro"},
            "timestamp": behind.isoformat(),
            "uuid": "01939c5e-7c5a-7000-8000-0000000000aa",
        },
        {**_js_event("bought", key), "timestamp": behind.isoformat()},
    ]
    events[2]["properties"]["distinct_id"] = "ann"
    r = app.client.post("/batch/", json={"batch": events, "sent_at": behind.isoformat()})
    assert r.status_code == 200 and r.json()["accepted"] == 4, r.text  # the identify is two events
    rows = _rows(app, 4)
    view = next(r for r in rows if r["event"] == "$pageview")
    stored = datetime.fromisoformat(view["timestamp"]).replace(tzinfo=UTC)
    assert abs((stored - (now - timedelta(minutes=10))).total_seconds()) < 60
    again = app.client.post("/batch/", json={"batch": events[1:2], "sent_at": behind.isoformat()})
    assert again.status_code == 200
    app.flush()
    assert app.runtime.store.count_events(project_id=app.project.project.id) == 4  # the retry deduplicated
    people = app.client.post(
        f"/api/v1/projects/{app.project.project.id}/query",
        json={"kind": "trends", "date_from": "-1d", "series": [{"math": "unique_users"}], "totals": True},
        headers=app.read_auth(),
    )
    assert people.json()["series"][0]["total"] == 1


@pytest.mark.parametrize("path", ["/decide/?v=3", "/flags/?v=2", "/array/phc_anything/config"])
def test_the_browser_tracker_s_configuration_has_no_features(app: Running, path: str) -> None:
    r = app.client.post(path, content=b"{}") if "array" not in path else app.client.get(path)
    assert r.status_code == 200
    body = r.json()
    assert body["featureFlags"] == {} and body["sessionRecording"] is False
    assert r.headers["access-control-allow-origin"] == "*"
    assert app.client.options("/e/").status_code == 204


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (orjson.dumps({"batch": [{"event": "x", "distinct_id": "a"}]}), {}, 401, "missing_write_key"),
        (orjson.dumps({"api_key": "bw_nope", "batch": [{"event": "x"}]}), {}, 401, None),
        (b"not json at all", {}, 400, "malformed_json"),
        (b"\x1f\x8b broken", {}, 400, "invalid_gzip"),
        (b"data=%%%", {"Content-Type": "application/x-www-form-urlencoded"}, 400, None),
        (orjson.dumps({"batch": "nope", "api_key": "k"}), {}, 400, "invalid_body"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(
    app: Running, body: bytes, headers: dict[str, str], status: int, code: str | None
) -> None:
    r = app.client.post("/batch/", content=body, headers=headers)
    assert r.status_code == status, r.text
    if code is not None:
        assert r.json()["error"]["code"] == code


def test_one_bad_event_costs_nothing_beside_it(app: Running) -> None:
    key = app.project.write_key
    identify = {
        "event": "$identify",
        "properties": {"token": key, "distinct_id": "b", "$anon_distinct_id": "a"},
    }
    batch = [identify, {"event": "", "properties": {"token": key}}, "junk", _js_event("ok2", key)]
    r = app.client.post("/e/", json=batch)
    assert r.status_code == 200
    answer = r.json()
    # The identify is two events (and its alias); the refusals name the sender's own positions.
    assert answer["accepted"] == 3 and [x["index"] for x in answer["rejected"]] == [1, 2]


def test_hostile_bodies_are_refused_before_they_cost_memory(app: Running) -> None:
    limit = app.runtime.settings.ingest.max_body_bytes
    key = {"Authorization": f"Bearer {app.project.write_key}"}
    # A gzip bomb: a small body that inflates past the limit.
    bomb = gzip.compress(b"[" + b" " * (limit + 10) + b"]")
    r = app.client.post("/e/", content=bomb, headers={**key, "Content-Type": "text/plain"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    # An lz64 bomb: LZ-String's codes can name ever longer entries, so a few kilobytes of codes could make
    # gigabytes of text; decompression stops at the limit.
    repetitive = lzstring.LZString().compressToBase64("a" * 200_000)
    assert len(repetitive) < 2_000
    small = app.runtime.settings.ingest.model_copy(update={"max_body_bytes": 50_000})
    from belvedere.ingest.compat import bodies

    with pytest.raises(BelvedereError) as refused:
        bodies.decode(
            repetitive.encode(),
            content_type="text/plain",
            content_encoding="",
            compression="lz64",
            limit=small.max_body_bytes,
        )
    assert refused.value.code == "payload_too_large"
    # Too many query or form fields, a huge batch, an unknown compression: refused with the reason.
    many = "&".join(f"p{i}=1" for i in range(50))
    r = app.client.post(f"/e/?{many}", json=_js_event("x", app.project.write_key))
    assert r.status_code == 400, r.text
    form = "&".join(f"f{i}=1" for i in range(50)) + "&data=e30="
    r = app.client.post("/e/", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400, r.text
    huge = [
        _js_event("x", app.project.write_key) for _ in range(app.runtime.settings.ingest.max_batch_events + 1)
    ]
    r = app.client.post("/batch/", json=huge)
    assert r.status_code == 413 and r.json()["error"]["code"] == "batch_too_large"
    r = app.client.post("/e/?compression=zstd", json=_js_event("x", app.project.write_key))
    assert r.status_code == 400 and "compression" in r.json()["error"]["message"]
    # Nothing of the above was stored.
    assert app.runtime.store.count_events(project_id=app.project.project.id) == 0
