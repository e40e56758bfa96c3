"""POST /api/v1/capture against the real app, spool and DuckDB store."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest
from tests.conftest import make_settings
from tests.integration.capture_kit import IPHONE_UA, Running, running

from belvedere.config import Settings

URL = "/api/v1/capture"


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    with running(settings) as r:
        yield r


def test_one_event_is_accepted_and_stored(app: Running) -> None:
    response = app.client.post(URL, json={"event": "signup", "distinct_id": "u1"}, headers=app.auth())
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "dropped": 0, "rejected": []}
    assert response.headers["access-control-allow-origin"] == "*"
    assert app.wait_stored(1) == 1
    [row] = app.runtime.store.recent_events(project_id=app.project.project.id, limit=5)
    assert (row["event"], row["distinct_id"], row["person_id"]) == ("signup", "u1", "u1")


def test_bad_events_are_rejected_one_by_one_and_good_ones_kept(app: Running) -> None:
    batch = [
        {"event": "ok-1", "distinct_id": "a"},
        {"type": "bogus"},
        {"event": "ok-2", "distinct_id": "b"},
        {"event": "x", "timestamp": "2999-01-01T00:00:00Z"},
        "not an object",
        {"event": "ok-3", "distinct_id": "c", "properties": {"plan": "pro"}},
    ]
    response = app.client.post(URL, json={"batch": batch}, headers=app.auth())
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 3
    assert [(r["index"], r["error"]["code"]) for r in body["rejected"]] == [
        (1, "invalid_type"),
        (3, "timestamp_in_future"),
        (4, "invalid_event"),
    ]
    assert app.wait_stored(3) == 3
    names = {r["event"] for r in app.runtime.store.recent_events(project_id=app.project.project.id, limit=10)}
    assert names == {"ok-1", "ok-2", "ok-3"}


def test_request_level_errors(app: Running) -> None:
    c, auth = app.client, app.auth()
    malformed = c.post(URL, content=b"{not json", headers=auth)
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
    assert c.post(URL, json={"event": "x"}).json()["error"]["code"] == "missing_write_key"
    unknown = c.post(URL, json={"event": "x"}, headers={"Authorization": "Bearer bw_unknown"})
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "invalid_write_key"
    not_events = c.post(URL, json={"batch": {"event": "x"}}, headers=auth)
    assert not_events.status_code == 400 and not_events.json()["error"]["code"] == "invalid_body"
    too_many = c.post(URL, json={"batch": [{"event": "x"}] * 1001}, headers=auth)
    assert too_many.status_code == 413 and too_many.json()["error"]["code"] == "batch_too_large"
    assert c.get(URL, headers=auth).status_code == 405
    bad_gzip = c.post(URL, content=b"plain", headers={**auth, "Content-Encoding": "gzip"})
    assert bad_gzip.status_code == 400 and bad_gzip.json()["error"]["code"] == "invalid_gzip"
    assert c.post(URL, content=b"{}", headers={**auth, "Content-Encoding": "br"}).status_code == 415
    assert app.runtime.store.count_events(project_id=app.project.project.id) == 0


def test_body_limits_apply_before_and_after_decompression(tmp_path: Path) -> None:
    with running(make_settings(tmp_path, ingest={"max_body_bytes": 4096})) as app:
        big = orjson.dumps({"event": "x", "properties": {"blob": "z" * 5000}})
        too_big = app.client.post(URL, content=big, headers=app.auth())
        assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"
        bomb = gzip.compress(orjson.dumps({"batch": [{"event": "x", "properties": {"p": "z" * 3000}}] * 5}))
        assert len(bomb) < 4096
        inflated = app.client.post(URL, content=bomb, headers={**app.auth(), "Content-Encoding": "gzip"})
        assert inflated.status_code == 413


def test_gzip_body_and_key_in_body_for_send_beacon(app: Running) -> None:
    body = gzip.compress(orjson.dumps({"batch": [{"event": "a"}, {"event": "b"}]}))
    response = app.client.post(URL, content=body, headers={**app.auth(), "Content-Encoding": "gzip"})
    assert response.json()["accepted"] == 2
    beacon = orjson.dumps({"event": "c", "api_key": app.project.write_key})  # as PostHog's clients name it
    response = app.client.post(URL, content=beacon, headers={"Content-Type": "text/plain"})
    assert response.status_code == 202 and response.json()["accepted"] == 1
    named = orjson.dumps({"batch": [{"event": "d"}], "write_key": app.project.write_key})  # its own name
    response = app.client.post(URL, content=named, headers={"Content-Type": "text/plain"})
    assert response.status_code == 202 and response.json()["accepted"] == 1
    assert app.wait_stored(4) == 4


def test_cors_preflight_is_open_on_capture_only(app: Running) -> None:
    preflight = app.client.options(
        URL, headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    other = app.client.get("/health", headers={"Origin": "https://shop.example"})
    assert "access-control-allow-origin" not in other.headers


def test_full_spool_answers_503_with_retry_after_and_loses_nothing(tmp_path: Path) -> None:
    with running(make_settings(tmp_path, spool={"max_bytes": 2048, "retry_after_seconds": 7})) as app:
        app.runtime.writer.stop()  # the store stops draining the spool
        accepted = 0
        for i in range(50):
            response = app.client.post(
                URL, json={"event": f"e{i}", "properties": {"pad": "p" * 200}}, headers=app.auth()
            )
            if response.status_code == 503:
                assert response.headers["retry-after"] == "7"
                assert response.json()["error"]["code"] == "spool_full"
                break
            accepted += response.json()["accepted"]
        else:
            pytest.fail("the spool never filled up")
        assert app.client.get("/ready").status_code == 503
        app.runtime.writer.start(app.runtime.writer.position)
        assert app.wait_stored(accepted) == accepted
        app.flush()
        assert app.client.post(URL, json={"event": "after"}, headers=app.auth()).status_code == 202


def test_enrichment_of_user_agent_geo_referrer_utm_and_channel(tmp_path: Path, city_mmdb: Path) -> None:
    settings = make_settings(tmp_path, geo={"database_path": city_mmdb})
    with running(settings) as app:
        event = {
            "type": "page",
            "context": {
                "ip": "203.0.113.9",
                "user_agent": IPHONE_UA,
                "page": {
                    "url": "https://www.shop.example/pricing?utm_source=Newsletter&utm_medium=email"
                    "&utm_campaign=Spring&utm_term=t&utm_content=c",
                    "referrer": "https://mail.google.com/",
                    "title": "Pricing",
                },
            },
        }
        search = {
            "type": "page",
            "context": {
                "ip": "203.0.113.10",
                "user_agent": IPHONE_UA,
                "page": {"url": "https://shop.example/", "referrer": "https://www.google.co.uk/"},
            },
        }
        bot = {"type": "page", "context": {"user_agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}}
        body = app.client.post(URL, json={"batch": [event, search, bot]}, headers=app.auth()).json()
        assert (body["accepted"], body["dropped"]) == (2, 1)
        assert app.wait_stored(2) == 2
        rows = {
            r["path"]: r for r in app.runtime.store.recent_events(project_id=app.project.project.id, limit=5)
        }
        row = rows["/pricing"]
        assert (row["browser"], row["os"], row["device_type"]) == ("Safari", "iOS", "mobile")
        assert (row["country"], row["region"], row["city"]) == ("FR", "Île-de-France", "Paris")
        assert (row["host"], row["title"], row["referrer_domain"]) == (
            "shop.example",
            "Pricing",
            "mail.google.com",
        )
        assert (
            row["utm_source"],
            row["utm_medium"],
            row["utm_campaign"],
            row["utm_term"],
            row["utm_content"],
        ) == ("newsletter", "email", "Spring", "t", "c")
        assert row["channel"] == "Email"
        assert (rows["/"]["referrer_domain"], rows["/"]["channel"]) == ("google.co.uk", "Organic Search")
        metrics = app.client.get("/metrics").text
        assert 'belvedere_events_dropped_total{reason="bot"} 1.0' in metrics


def test_no_raw_ip_is_stored_anywhere(tmp_path: Path) -> None:
    ip4, ip6 = "198.51.100.77", "2001:db8:abcd::42"
    with running(make_settings(tmp_path)) as app:
        batch = [
            {"event": "a", "context": {"ip": ip4, "user_agent": IPHONE_UA}},
            {"event": "b", "properties": {"note": "no ip here"}},
            {"type": "page", "context": {"ip": ip6, "page": {"url": "https://x.example/"}}},
        ]
        assert app.client.post(URL, json={"batch": batch}, headers=app.auth()).json()["accepted"] == 3
        assert app.wait_stored(3) == 3
        store = app.runtime.store
        for (table,) in store.execute("SELECT table_name FROM information_schema.tables"):
            columns = [
                c
                for (c,) in store.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
                )
            ]
            for column in columns:
                hits = store.execute(
                    f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS VARCHAR) LIKE ? '
                    f'OR CAST("{column}" AS VARCHAR) LIKE ?',
                    [f"%{ip4}%", f"%{ip6}%"],
                )
                assert hits == [(0,)], f"raw IP found in {table}.{column}"
        rows = store.recent_events(project_id=app.project.project.id, limit=5)
        assert {r["event"]: len(r["distinct_id"]) for r in rows} == {"a": 16, "b": 16, "$pageview": 16}
        app.flush()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert ip4.encode() not in data and ip6.encode() not in data, f"raw IP in {path}"


def test_cookieless_visitor_ids(app: Running) -> None:
    def send(ip: str, ua: str) -> None:
        event = {
            "type": "page",
            "context": {"ip": ip, "user_agent": ua, "page": {"url": "https://a.example/"}},
        }
        assert app.client.post(URL, json=event, headers=app.auth()).json()["accepted"] == 1

    send("203.0.113.1", IPHONE_UA)
    send("203.0.113.1", IPHONE_UA)
    send("203.0.113.1", IPHONE_UA.replace("17_1", "17_2"))
    send("203.0.113.2", IPHONE_UA)
    assert app.wait_stored(4) == 4
    rows = app.runtime.store.execute(
        "SELECT distinct_id, count(*), count(DISTINCT session_id) FROM events GROUP BY 1 ORDER BY 2 DESC"
    )
    assert [(n, s) for _, n, s in rows] == [(2, 1), (1, 1), (1, 1)]
    assert all(len(d) == 16 and int(d, 16) >= 0 for d, _, _ in rows)

    private = app.new_project("Private", settings=_no_visitor_id())
    headers = {"Authorization": f"Bearer {private.write_key}"}
    event = {"type": "page", "context": {"ip": "203.0.113.1", "user_agent": IPHONE_UA}}
    assert app.client.post(URL, json=event, headers=headers).json()["accepted"] == 1
    assert app.wait_stored(1, project_id=private.project.id) == 1
    [row] = app.runtime.store.recent_events(project_id=private.project.id, limit=1)
    assert (row["distinct_id"], row["person_id"], row["session_id"]) == (None, None, None)


def _no_visitor_id():  # type: ignore[no-untyped-def]
    from belvedere.accounts.settings import ProjectSettings

    return ProjectSettings(visitor_id="none")


def test_sessions_split_after_inactivity(app: Running) -> None:
    t0 = 1_763_800_000_000
    batch = [{"event": "e", "distinct_id": "u", "timestamp": t0 + m * 60_000} for m in (0, 10, 39, 80, 85)]
    batch.append(
        {
            "event": "e",
            "distinct_id": "u",
            "timestamp": t0 + 86 * 60_000,
            "properties": {"$session_id": "from-client"},
        }
    )
    assert app.client.post(URL, json={"batch": batch}, headers=app.auth()).json()["accepted"] == 6
    assert app.wait_stored(6) == 6
    rows = app.runtime.store.execute("SELECT session_id FROM events ORDER BY timestamp")
    sessions = [s for (s,) in rows]
    assert sessions[0] == sessions[1] == sessions[2]
    assert sessions[3] == sessions[4] != sessions[0]
    assert sessions[5] == "from-client"


def test_uuid_makes_events_idempotent(app: Running) -> None:
    event = {
        "event": "pay",
        "distinct_id": "u",
        "uuid": "0f0e0d0c-0b0a-4908-8706-050403020100",
        "timestamp": 1_763_800_000_000,
    }
    for _ in range(3):
        assert app.client.post(URL, json=event, headers=app.auth()).status_code == 202
        app.flush()
    twice_in_one = {"batch": [event, event, {**event, "uuid": "1f0e0d0c-0b0a-4908-8706-050403020100"}]}
    assert app.client.post(URL, json=twice_in_one, headers=app.auth()).json()["accepted"] == 3
    app.flush()
    rows = app.runtime.store.execute(
        "SELECT CAST(uuid AS VARCHAR), count(*) FROM events GROUP BY 1 ORDER BY 1"
    )
    assert rows == [("0f0e0d0c-0b0a-4908-8706-050403020100", 1), ("1f0e0d0c-0b0a-4908-8706-050403020100", 1)]


def test_identify_and_alias_link_a_person(app: Running) -> None:
    batch = [
        {"event": "visit", "distinct_id": "anon-1"},
        {"type": "alias", "distinct_id": "user-1", "properties": {"alias": "anon-1"}},
        {"type": "identify", "distinct_id": "user-1", "properties": {"plan": "free", "company_size": 5}},
        {"type": "identify", "distinct_id": "user-1", "traits": {"plan": "pro"}},
        {"event": "later", "distinct_id": "anon-1"},
    ]
    assert app.client.post(URL, json={"batch": batch}, headers=app.auth()).json()["accepted"] == 5
    app.flush()
    store = app.runtime.store
    assert store.execute("SELECT project_id, alias, person_id FROM person_aliases") == [
        (app.project.project.id, "anon-1", "user-1")
    ]
    [(traits,)] = store.execute("SELECT properties FROM persons WHERE distinct_id = 'user-1'")
    assert orjson.loads(traits) == {"plan": "pro", "company_size": 5}
    assert store.execute("SELECT person_id FROM events WHERE event = 'later'") == [("user-1",)]
    # signing up does not split the visit: the anonymous events and the person's share one session
    assert store.execute("SELECT count(DISTINCT session_id) FROM events") == [(1,)]


def test_internal_pages_and_server_events_inherit_the_visits_source(app: Running) -> None:
    t0 = 1_763_800_000_000
    landing = {
        "type": "page",
        "distinct_id": "v",
        "timestamp": t0,
        "context": {
            "page": {
                "url": "https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=june",
                "referrer": "https://mail.google.com/",
            }
        },
    }
    inner = {
        "type": "page",
        "distinct_id": "v",
        "timestamp": t0 + 60_000,
        "context": {"page": {"url": "https://shop.example/pricing", "referrer": "https://shop.example/"}},
    }
    purchase = {
        "event": "purchase",
        "distinct_id": "v",
        "timestamp": t0 + 120_000,
        "properties": {"revenue": 9},
    }
    later = {
        "type": "page",
        "distinct_id": "v",
        "timestamp": t0 + 3 * 3_600_000,
        "context": {"page": {"url": "https://shop.example/pricing", "referrer": "https://shop.example/"}},
    }
    body = {"batch": [landing, inner, purchase, later]}
    assert app.client.post(URL, json=body, headers=app.auth()).json()["accepted"] == 4
    assert app.wait_stored(4) == 4
    rows = app.runtime.store.execute(
        "SELECT path, event, channel, utm_campaign, referrer_domain, referrer FROM events ORDER BY timestamp"
    )
    assert rows == [
        ("/", "$pageview", "Email", "june", "mail.google.com", "https://mail.google.com/"),
        ("/pricing", "$pageview", "Email", "june", "mail.google.com", "https://shop.example/"),
        (None, "purchase", "Email", "june", "mail.google.com", None),
        ("/pricing", "$pageview", "Direct", None, None, "https://shop.example/"),  # a new visit
    ]
