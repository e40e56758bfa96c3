"""Plausible's Events API pointed at Belvedere, with the bodies its documentation and its tracker script
send: the site's domain names the project (one of its domains, or its write key), page views, custom
events with props and revenue, engagement; a domain two projects list names neither; refusals as
Plausible gives them (400 for a refused event, 202 otherwise)."""

from __future__ import annotations

from typing import Any

import orjson
from tests.integration.capture_kit import Running

from belvedere.accounts.settings import ProjectSettings

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def _props(row: dict[str, Any]) -> dict[str, Any]:
    value = row["properties"]
    return orjson.loads(value) if isinstance(value, str) else dict(value or {})


def test_the_site_s_domain_names_the_project(app: Running) -> None:
    site = app.new_project("Blog", ProjectSettings(domains=["blog.example"]))
    headers = {"User-Agent": CHROME, "Content-Type": "text/plain", "X-Forwarded-For": "81.2.69.160"}
    calls: list[dict[str, Any]] = [
        {
            "name": "pageview",
            "url": "https://www.blog.example/post/1?utm_source=mastodon",
            "domain": "blog.example",
            "referrer": "https://social.example/@me",
        },
        {"n": "pageview", "u": "https://blog.example/about", "d": "www.blog.example", "r": None, "w": 1280},
        {
            "name": "Signup",
            "url": "https://blog.example/about",
            "domain": "blog.example",
            "props": {"plan": "pro"},
            "revenue": {"currency": "EUR", "amount": "19.90"},
        },
        {"n": "engagement", "u": "https://blog.example/about", "d": "blog.example", "e": 4200, "sd": 75},
        {
            "n": "Outbound Link: Click",
            "u": "https://blog.example/about",
            "d": "blog.example",
            "p": '{"url": "https://elsewhere.example/"}',
        },
        # The project's write key as the domain: no setting needed.
        {"name": "pageview", "url": "https://blog.example/contact", "domain": site.write_key},
    ]
    for body in calls:
        r = app.client.post("/api/event", content=orjson.dumps(body), headers=headers)
        assert r.status_code == 202, r.text
    assert app.wait_stored(6, site.project.id) == 6
    rows = app.runtime.store.recent_events(project_id=site.project.id, limit=10)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_name.setdefault(row["event"], []).append(row)
    assert sorted(by_name) == ["$engagement", "$pageview", "Outbound Link: Click", "Signup"]
    views = sorted(by_name["$pageview"], key=lambda r: r["url"])
    assert [v["path"] for v in views] == ["/about", "/contact", "/post/1"]
    post = views[2]
    assert (post["utm_source"], post["referrer_domain"], post["country"]) == (
        "mastodon",
        "social.example",
        "GB",
    )
    assert all(v["distinct_id"] for v in views)  # the daily-salted visitor hash
    signup = by_name["Signup"][0]
    assert signup["revenue"] == 19.9 and _props(signup)["currency"] == "EUR"
    assert _props(by_name["$engagement"][0]) == {"engagement_ms": 4200, "scroll_depth": 75}
    assert _props(by_name["Outbound Link: Click"][0]) == {"url": "https://elsewhere.example/"}
    assert app.runtime.store.count_events(project_id=app.project.project.id) == 0  # nothing to the other
    # A page of another site than the project's domains is dropped, as from any tracker.
    elsewhere = {"name": "pageview", "url": "https://other.example/", "domain": site.write_key}
    r = app.client.post("/api/event", content=orjson.dumps(elsewhere), headers=headers)
    assert r.status_code == 202 and r.json()["dropped"] == 1


def test_a_domain_two_projects_list_names_neither(app: Running) -> None:
    for name in ("Mine", "Theirs"):
        app.new_project(name, ProjectSettings(domains=["shared.example"]))
    body = {"name": "pageview", "url": "https://shared.example/", "domain": "shared.example"}
    r = app.client.post("/api/event", json=body, headers={"User-Agent": CHROME})
    assert r.status_code == 401 and r.json()["error"]["code"] == "ambiguous_domain"
    unknown = app.client.post(
        "/api/event", json={**body, "domain": "nobody.example"}, headers={"User-Agent": CHROME}
    )
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "unknown_domain"


def test_refusals_say_what_to_fix(app: Running) -> None:
    site = app.new_project("Blog", ProjectSettings(domains=["blog.example"]))
    headers = {"User-Agent": CHROME}
    nameless = {"url": "https://blog.example/", "domain": "blog.example"}
    r = app.client.post("/api/event", json=nameless, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_event"
    r = app.client.post(
        "/api/event", json={"name": "pageview", "url": "https://blog.example/"}, headers=headers
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_domain"
    assert app.client.post("/api/event", content=b"{not json", headers=headers).status_code == 400
    assert app.client.get("/api/event").status_code == 405
    assert app.runtime.store.count_events(project_id=site.project.id) == 0
