"""The server-rendered pages through the app: signed-out forms and their token, redirects, errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
from tests.integration.accounts.kit import PASSWORD, add_person, build_world
from tests.integration.capture_kit import Running, form_token

from belvedere.accounts.models import Membership, Project
from belvedere.platform.db import transaction
from belvedere.web.pages.countries import country_name, flag


def test_login_form_needs_its_token_and_keeps_next_on_this_site(app: Running) -> None:
    person = add_person(app, None, None)
    token = form_token(app.client.get("/login").text)
    forged = app.client.post("/login", data={"email": person.email, "password": PASSWORD, "form_token": "x"})
    assert forged.status_code == 403 and "bv_access" not in app.client.cookies
    wrong = app.client.post(
        "/login", data={"email": person.email, "password": "nope nope", "form_token": token}
    )
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
    for target, expected in (
        ("/app/projects/1", "/app/projects/1"),
        ("https://evil.example/", "/app"),
        ("//evil", "/app"),
    ):
        app.client.cookies.clear()
        token = form_token(app.client.get("/login").text)
        ok = app.client.post(
            "/login",
            data={"email": person.email, "password": PASSWORD, "form_token": token, "next": target},
            follow_redirects=False,
        )
        assert ok.status_code == 303 and ok.headers["location"] == expected
        assert app.client.cookies.get("bv_access")


def test_pages_send_the_signed_out_to_login_and_hide_other_organisations(app: Running) -> None:
    world = build_world(app)
    page = f"/app/projects/{world.project_id}"
    assert app.client.get(page, follow_redirects=False).headers["location"] == f"/login?next={page}"
    outsider = app.client.get(page, headers=world.people["outsider"].auth())
    assert outsider.status_code == 404 and "Not found" in outsider.text
    assert outsider.headers["content-type"].startswith("text/html")
    viewer = app.client.get(page, headers=world.people["viewer"].auth())
    assert viewer.status_code == 200 and "No events in this period" in viewer.text


def test_signup_page_shows_what_is_wrong(app: Running) -> None:
    token = form_token(app.client.get("/signup").text)
    weak = app.client.post(
        "/signup",
        data={"email": "a@b.co", "password": "password1234", "organisation": "A", "form_token": token},
    )
    assert weak.status_code == 422 and "breached" in weak.text and 'value="a@b.co"' in weak.text


def test_page_changes_need_the_csrf_header_in_a_cookie_session(app: Running) -> None:
    person = add_person(app, None, None)
    token = form_token(app.client.get("/login").text)
    app.client.post("/login", data={"email": person.email, "password": PASSWORD, "form_token": token})
    world = build_world(app)
    from belvedere.accounts.models import Membership
    from belvedere.platform.db import transaction

    with transaction(app.runtime.sessions) as s:
        s.add(Membership(organisation_id=world.org_id, user_id=person.user_id, role="admin"))
    url = f"/app/orgs/{world.org_id}/projects/new"
    assert app.client.post(url, data={"name": "X"}).status_code == 403
    created = app.client.post(
        url, data={"name": "X"}, headers={"X-CSRF-Token": app.client.cookies["bv_csrf"], "HX-Request": "true"}
    )
    assert created.status_code == 204 and created.headers["HX-Redirect"].endswith("/settings")


def test_the_tracker_script_is_served_to_any_site(app: Running) -> None:
    script = app.client.get("/js/belvedere.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("application/javascript")
    assert (
        script.headers["access-control-allow-origin"] == "*" and "max-age" in script.headers["cache-control"]
    )
    assert b"sendBeacon" in script.content


def test_every_page_names_its_icon_and_browsers_that_guess_find_it(app: Running) -> None:
    login = app.client.get("/login")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in login.text
    icon = app.client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    guessed = app.client.get("/favicon.ico", follow_redirects=False)
    assert guessed.status_code == 303 and guessed.headers["location"] == "/static/favicon.svg"


def test_realtime_page_and_a_one_shot_stream(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    with transaction(app.runtime.sessions) as session:  # a zone 5 h 30 ahead of UTC
        project = session.get(Project, world.project_id)
        assert project is not None
        project.timezone = "Asia/Kolkata"
    for path in ("/a", "/b"):
        response = app.client.post(
            "/api/v1/capture",
            json={"type": "page", "context": {"page": {"url": f"https://x.example{path}"}}},
            headers={"Authorization": f"Bearer {world.write_key}"},
        )
        assert response.status_code == 202
    assert app.wait_stored(2, world.project_id) == 2
    page = app.client.get(f"/app/projects/{world.project_id}/realtime", headers=viewer)
    assert page.status_code == 200 and 'data-kpi="active">1<' in page.text
    stream = app.client.get(f"/app/projects/{world.project_id}/realtime/stream", headers=viewer)
    assert stream.headers["content-type"].startswith("text/event-stream")
    messages = [line for line in stream.text.splitlines() if line.startswith("data: ")]
    shown = [orjson.loads(m[6:]) for m in messages]
    assert [m["path"] for m in shown] == ["/a", "/b"]  # oldest first
    for m in shown:  # the time of day in the project's zone, as on every other page (not the browser's)
        at = datetime.fromisoformat(m["timestamp"]).astimezone(ZoneInfo("Asia/Kolkata"))
        assert m["time"] == f"{at:%H:%M:%S}"
        # Each event leads to its visitor's page, which answers.
        assert m["person"].startswith(f"/app/projects/{world.project_id}/person?id=")
        assert app.client.get(m["person"], headers=viewer).status_code == 200
    # Events per minute over the last 30, labelled in the project's zone, the last minute under way.
    per_minute = _chart_data(page.text)
    assert len(per_minute["labels"]) == 30 and per_minute["current"] == 29
    local_now = datetime.now(UTC).astimezone(ZoneInfo("Asia/Kolkata"))
    # This minute, or the one before if the clock has just turned.
    assert per_minute["labels"][-1] in {f"{local_now:%H:%M}", f"{local_now - timedelta(minutes=1):%H:%M}"}
    assert sum(per_minute["series"][0]["data"]) == 2  # type: ignore[index]
    outsider = app.client.get(
        f"/app/projects/{world.project_id}/realtime/stream", headers=world.people["outsider"].auth()
    )
    assert outsider.status_code == 404


def test_overview_panels_load_on_their_own_and_keep_the_filters(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    for path in ("/a", "/b", "/b"):
        app.client.post(
            "/api/v1/capture",
            json={"type": "page", "context": {"page": {"url": f"https://x.example{path}"}}},
            headers={"Authorization": f"Bearer {world.write_key}"},
        )
    assert app.wait_stored(3, world.project_id) == 3
    overview = app.client.get(f"/app/projects/{world.project_id}?period=30d", headers=viewer).text
    assert overview.count('aria-busy="true"') == 5  # five panels, each loading on its own
    url = f"/app/projects/{world.project_id}/panels/pages?period=30d&path=%2Fb&tab=page"
    panel = app.client.get(url, headers=viewer)
    assert panel.status_code == 200 and ">/b</a>" in panel.text and ">/a</a>" not in panel.text
    assert 'href="?period=30d&amp;path=%2Fb"' in panel.text  # a row keeps the period and filters
    unknown = app.client.get(f"/app/projects/{world.project_id}/panels/nope", headers=viewer)
    assert unknown.status_code == 404


def test_organisation_settings_page_acts_through_the_api_handlers(app: Running) -> None:
    world = build_world(app)
    admin = world.people["admin"].auth()
    url = f"/app/orgs/{world.org_id}/settings"
    page = app.client.get(url, headers=admin)
    assert (
        page.status_code == 200
        and "Invite someone" in page.text
        and world.people["viewer"].email in page.text
    )
    invited = app.client.post(
        f"{url}/invitations", data={"email": "new@example.test", "role": "viewer"}, headers=admin
    )
    assert (
        "Invitation sent to new@example.test" in invited.text and "new@example.test as viewer" in invited.text
    )
    refused = app.client.post(
        f"{url}/members/{world.people['owner'].user_id}/role", data={"role": "viewer"}, headers=admin
    )
    assert refused.status_code == 403 and "Only an owner can" in refused.text  # shown on the page
    key = app.client.post(f"{url}/api-keys", data={"label": "ci", "scope": "read"}, headers=admin)
    shown = re.search(r"(bp_[A-Za-z0-9_-]+)", key.text)
    assert shown and "shown only once" in key.text
    assert (
        app.client.get(
            f"/api/v1/orgs/{world.org_id}", headers={"Authorization": f"Bearer {shown.group(1)}"}
        ).status_code
        == 200
    )
    again = app.client.get(url, headers=admin)
    assert shown.group(1) not in again.text  # never shown again
    viewer = app.client.get(url, headers=world.people["viewer"].auth())
    assert (
        viewer.status_code == 200 and "Invite someone" not in viewer.text and "Create key" not in viewer.text
    )
    assert (
        app.client.post(
            f"{url}/invitations", data={"email": "x@example.test"}, headers=world.people["viewer"].auth()
        ).status_code
        == 403
    )
    assert app.client.get(url, headers=world.people["outsider"].auth()).status_code == 404


def _chart_data(html: str) -> dict[str, object]:
    import html as html_lib

    found = re.search(r'data-chart="([^"]+)"', html)
    assert found
    return orjson.loads(html_lib.unescape(found.group(1)))


def test_overview_periods_comparison_metric_and_goal_live_in_the_url(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    # Two visitors on 3 November, one of whom signs up; one on 31 October, in the previous period of the
    # custom range 2 to 4 November (30 October to 1 November).
    batch = [
        {
            "type": "page",
            "distinct_id": "a",
            "timestamp": "2026-11-03T10:00:00Z",
            "context": {"page": {"url": "https://x.example/"}},
        },
        {"event": "signup", "distinct_id": "a", "timestamp": "2026-11-03T10:01:00Z"},
        {
            "type": "page",
            "distinct_id": "b",
            "timestamp": "2026-11-03T11:00:00Z",
            "context": {"page": {"url": "https://x.example/"}},
        },
        {
            "type": "page",
            "distinct_id": "c",
            "timestamp": "2026-10-31T11:00:00Z",
            "context": {"page": {"url": "https://x.example/"}},
        },
    ]
    app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert app.wait_stored(4, world.project_id) == 4
    base = f"/app/projects/{world.project_id}"
    custom = app.client.get(
        f"{base}?period=custom&from=2026-11-04&to=2026-11-02&compare=1&goal=signup", headers=viewer
    )
    assert custom.status_code == 200
    text = custom.text
    assert 'data-kpi="visitors">2<' in text  # a and b; c is before the range
    assert 'data-kpi="conversion">50.0%<' in text  # a of a and b signed up
    assert "From 2026-11-02 to 2026-11-04" in text  # the range was put in order
    chart = _chart_data(text)
    assert chart["labels"] == ["2 Nov", "3 Nov", "4 Nov"]  # read as dates, not raw ISO
    assert "current" not in chart  # the range is over: no bucket under way
    current, previous = chart["series"]  # type: ignore[misc]
    assert current["data"] == [0, 2, 0] and previous["name"] == "Previous period"
    assert previous["data"] == [0, 1, 0]  # 30 October to 1 November: c on the 31st
    # Switching the chart metric keeps the period, comparison and goal.
    switch = re.search(r'href="([^"]*metric=pageviews[^"]*)"', text)
    assert switch and "period=custom" in switch.group(1) and "goal=signup" in switch.group(1)
    pageviews = _chart_data(app.client.get(base + switch.group(1).replace("&amp;", "&"), headers=viewer).text)
    assert pageviews["series"][0]["name"] == "Pageviews"  # type: ignore[index]
    # The events panel lists signup; clicking it makes it the goal.
    panel = app.client.get(
        f"{base}/panels/events?period=custom&from=2026-11-02&to=2026-11-04", headers=viewer
    )
    assert re.search(r'href="\?[^"]*goal=signup[^"]*" title="Use as the goal">signup</a>', panel.text)
    # ...with the people who did it, how many times, and their share of the period's visitors (not the
    # page views a custom event never has).
    cells = re.findall(r'<td class="num">([^<]+)</td>', panel.text.split(">signup</a>")[1].split("</tr>")[0])
    assert cells == ["1", "1", "50.0%"]
    # The same period last year, by its URL: the chart says so, and the figures are against it.
    year = app.client.get(f"{base}?period=custom&from=2026-11-02&to=2026-11-04&compare=year", headers=viewer)
    assert "against the same period last year" in year.text
    assert "Changes are against 2 Nov \u2013 4 Nov 2025." in year.text
    assert _chart_data(year.text)["series"][1]["name"] == "Same period last year"  # type: ignore[index]
    # A range that runs to today is under way: the chart is told which bucket holds now.
    today = datetime.now(UTC).date()
    running = _chart_data(
        app.client.get(f"{base}?period=custom&from=2026-11-02&to={today}", headers=viewer).text
    )
    assert running["current"] == len(running["labels"]) - 1
    # A broken custom range falls back to the default period rather than failing.
    fallback = app.client.get(f"{base}?period=custom&from=nope&to=2026-11-04", headers=viewer)
    assert fallback.status_code == 200 and 'aria-current="page">7 days<' in fallback.text


def test_the_locations_panel_draws_countries_on_a_world_map(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    batch = [
        {"type": "page", "context": {"ip": ip, "page": {"url": "https://x.example/"}}}
        for ip in ("8.8.8.8", "8.8.4.4", "81.2.69.160")
    ]
    app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert app.wait_stored(3, world.project_id) == 3
    countries = app.client.post(
        f"/api/v1/projects/{world.project_id}/query",
        json={"kind": "breakdown", "dimension": "country", "date_from": "-7d"},
        headers=viewer,
    ).json()["results"]
    expected = {r["value"]: r["visitors"] for r in countries if r["value"]}
    assert expected, "the bundled geo database places these addresses"
    panel = app.client.get(f"/app/projects/{world.project_id}/panels/locations?tab=map", headers=viewer)
    chart = _chart_data(panel.text)
    assert chart["type"] == "map"
    assert {p["name"]: p["value"] for p in chart["series"][0]["data"]} == expected  # type: ignore[index]
    assert 'aria-selected="true"' in panel.text.split(">Map<")[0].rsplit("<button", 1)[1]
    geo = app.client.get("/static/vendor/world-110m.geo.json").json()
    codes = {f["properties"]["iso2"] for f in geo["features"]}
    assert set(expected) <= codes  # every country found can be drawn
    # The table names each country, flag first (hidden from screen readers), each row with a bar behind it
    # of its share of the largest.
    listed = app.client.get(f"/app/projects/{world.project_id}/panels/locations", headers=viewer).text
    top = max(expected.values())
    for code, visitors in expected.items():
        link = f'<a href="?period=7d&amp;country={code}"'
        cell = f'<span class="flag" aria-hidden="true">{flag(code)}</span> {link}'
        assert cell in listed and f"{country_name(code)}</a>" in listed
        assert f'<tr class="bar-{round(20 * visitors / top)}">' in listed


def test_the_goal_s_properties_and_their_values_show_in_the_events_panel(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    batch = [
        {"event": "signup", "distinct_id": who, "properties": {"plan": plan, "seats": 2}}
        for who, plan in (("a", "pro"), ("b", "pro"), ("c", "free"))
    ]
    batch.append({"event": "search", "distinct_id": "a", "properties": {"query": "x"}})
    app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert app.wait_stored(4, world.project_id) == 4
    base = f"/app/projects/{world.project_id}/panels/events?period=7d&goal=signup"
    keys = app.client.get(base + "&tab=props", headers=viewer).text
    assert ">Properties of signup<" in keys and ">query<" not in keys  # only the goal's keys
    assert re.findall(r'class="link"[^>]*>(\w+)</button></td><td class="num">(\d+)<', keys) == [
        ("plan", "3"),
        ("seats", "3"),
    ]
    values = app.client.get(base + "&tab=prop&key=plan", headers=viewer).text
    rows = re.findall(r"<td>(\w+)</td>\s*<td class=\"num\">(\d+)</td>", values)
    assert rows == [("pro", "2"), ("free", "1")]  # visitors per value
    without_goal = app.client.get(f"/app/projects/{world.project_id}/panels/events?tab=props", headers=viewer)
    assert "Properties of" not in without_goal.text  # no goal, no such tab: the events list instead


def test_the_switcher_lists_the_projects_of_every_organisation_of_the_user(app: Running) -> None:
    world, other = build_world(app), build_world(app)
    member = world.people["member"]
    with transaction(app.runtime.sessions) as session:
        session.add(Membership(organisation_id=other.org_id, user_id=member.user_id, role="viewer"))
    page = app.client.get(f"/app/projects/{world.project_id}", headers=member.auth()).text
    switcher = page.split('id="project-switch"', 1)[1].split("</select>", 1)[0]
    groups = re.findall(r'<optgroup label="([^"]+)">', switcher)
    assert len(groups) == 2 and groups[0].startswith("Acme")  # the current organisation first
    assert f'value="/app/projects/{other.project_id}"' in switcher
    assert f"/app/projects/{other.other_project_id}" not in switcher  # not the user's organisation
    assert "+ New project" not in switcher  # a member cannot create projects
