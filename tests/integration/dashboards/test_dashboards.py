"""Funnel builder, saved insights, dashboards and shared links, through the app with real stores."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from tests.integration.accounts.kit import World, build_world
from tests.integration.capture_kit import Running

from belvedere.app import BelvedereApp
from belvedere.dashboards import service, sharing
from belvedere.dashboards.models import Dashboard
from belvedere.platform.db import transaction

TODAY = datetime.now(UTC).date()
# Two weeks ago: inside every "last 30 days", whatever day the suite runs on.
DAY = TODAY - timedelta(days=14)
# The Monday five weeks before this week's: its week and the next are whole cohorts of "the last 12 weeks".
MONDAY = TODAY - timedelta(days=TODAY.weekday() + 35)


def at(day: date, clock: str, *, plus_days: int = 0) -> str:
    """An ISO timestamp (UTC) on ``day`` (+ ``plus_days``) at ``clock`` (HH:MM:SS)."""
    return f"{(day + timedelta(days=plus_days)).isoformat()}T{clock}Z"


# Three people: A goes / → signup → purchase, B goes / → signup, C only sees /.
JOURNEYS = {
    "A": [("page", "/"), ("signup", "/join"), ("purchase", "/buy")],
    "B": [("page", "/"), ("signup", "/join")],
    "C": [("page", "/")],
}


def _capture_journeys(app: Running, world: World) -> None:
    batch = []
    for person, steps in JOURNEYS.items():
        for i, (event, path) in enumerate(steps):
            item = {
                "distinct_id": person,
                "timestamp": at(DAY, f"10:0{i}:00"),
                "context": {"page": {"url": f"https://shop.example{path}"}},
            }
            batch.append({"type": "page", **item} if event == "page" else {"event": event, **item})
    response = app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert response.json()["accepted"] == len(batch)
    assert app.wait_stored(len(batch), world.project_id) == len(batch)


def _cells(html: str) -> list[list[str]]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S) for row in body.split("</tr>")[:-1]]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in row] for row in rows]  # a count may be a link


FUNNEL = (
    "step=%24pageview&path=%2F&step=signup&path=&step=purchase&path=&window=86400&order=ordered&period=30d"
)


def test_funnel_builder_counts_each_person_at_the_furthest_step(app: Running) -> None:
    world = build_world(app)
    _capture_journeys(app, world)
    viewer = world.people["viewer"].auth()
    page = app.client.get(f"/app/projects/{world.project_id}/funnels?{FUNNEL}", headers=viewer)
    assert page.status_code == 200, page.text
    rows = _cells(page.text.split('id="funnel-title"', 1)[1])
    # Computed by hand from JOURNEYS: 3 saw /, 2 of them signed up, 1 of those bought.
    assert [r[1] for r in rows] == ["3", "2", "1"]
    assert [r[2] for r in rows] == ["100.0%", "66.7%", "33.3%"]
    assert [r[4] for r in rows] == ["\u2013", "1", "1"]  # dropped at each step
    assert 'data-chart="' in page.text
    assert "Save this funnel" not in page.text  # a viewer cannot save
    assert '<option value="signup">' in page.text  # the step pickers know the project's events


def test_funnel_builder_adds_and_removes_steps_and_explains_bad_input(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    base = f"/app/projects/{world.project_id}/funnels"
    added = app.client.get(f"{base}?step=a&step=b&add=1", headers=viewer).text
    assert (
        added.split('aria-label="Add a filter"', 1)[0].count('name="step"') == 3
        and 'id="funnel-title"' not in added
    )
    removed = app.client.get(f"{base}?step=a&step=b&step=c&remove=1", headers=viewer).text
    assert re.findall(r'name="step" list="event-names" value="([^"]*)"', removed) == ["a", "c"]
    one_step = app.client.get(f"{base}?step=a&step=", headers=viewer)
    assert one_step.status_code == 422 and "at least 2" in one_step.text


def _save_funnel(app: Running, world: World, role: str = "member") -> int:
    page = app.client.get(
        f"/app/projects/{world.project_id}/funnels?{FUNNEL}", headers=world.people[role].auth()
    )
    query = re.search(r'name="query" value="([^"]+)"', page.text)
    assert query, "the page offers to save"
    spec = json.loads(query.group(1).replace("&#34;", '"').replace("&quot;", '"'))
    saved = app.client.post(
        f"/app/projects/{world.project_id}/insights",
        data={"name": "Checkout", "query": json.dumps(spec)},
        headers=world.people[role].auth(),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    return int(saved.headers["location"].rsplit("/", 1)[1])


def test_a_saved_funnel_shows_the_same_numbers_and_bad_specs_are_refused(app: Running) -> None:
    world = build_world(app)
    _capture_journeys(app, world)
    insight_id = _save_funnel(app, world)
    viewer = world.people["viewer"].auth()
    page = app.client.get(f"/app/projects/{world.project_id}/insights/{insight_id}", headers=viewer)
    assert page.status_code == 200 and "Checkout" in page.text and 'hx-trigger="load"' in page.text
    view = app.client.get(f"/app/projects/{world.project_id}/insights/{insight_id}/view", headers=viewer)
    assert [r[1] for r in _cells(view.text)] == ["3", "2", "1"]
    member = world.people["member"].auth()
    for bad, reason in (
        ('{"kind": "funnel", "steps": [{"event": "a"}]}', "at least 2"),
        ('{"kind": "users"}', "cannot be saved"),
        ("not json", "Expecting value"),
    ):
        refused = app.client.post(
            f"/app/projects/{world.project_id}/insights", data={"name": "x", "query": bad}, headers=member
        )
        assert refused.status_code == 422 and reason in refused.text, (bad, refused.text)
    listing = app.client.get(f"/app/projects/{world.project_id}/insights", headers=viewer).text
    assert "Checkout" in listing and "KPIs" in listing


def _dashboard(app: Running, world: World) -> Dashboard:
    with transaction(app.runtime.sessions) as session:
        board = session.get(Dashboard, world.dashboard_id)
        assert board is not None
        board.widgets  # noqa: B018 — loaded while the session is open
        return board


def test_dashboard_widgets_are_added_arranged_resized_and_removed(app: Running) -> None:
    world = build_world(app)
    _capture_journeys(app, world)
    member = world.people["member"].auth()
    funnel_id = _save_funnel(app, world)
    base = f"/app/projects/{world.project_id}/dashboards/{world.dashboard_id}"
    added = app.client.post(
        f"/app/projects/{world.project_id}/insights/{funnel_id}/dashboards",
        data={"dashboard_id": world.dashboard_id, "display": "table"},
        headers=member,
        follow_redirects=False,
    )
    assert added.status_code == 303
    wrong_display = app.client.post(
        f"{base}/widgets", data={"insight_id": funnel_id, "display": "retention"}, headers=member
    )
    assert wrong_display.status_code == 422 and "can be shown as funnel, table" in wrong_display.text
    widgets = [w.id for w in _dashboard(app, world).widgets]
    assert len(widgets) == 2
    first, second = widgets
    app.client.post(f"{base}/widgets/{second}/move", data={"direction": "up"}, headers=member)
    assert [w.id for w in _dashboard(app, world).widgets] == [second, first]
    assert (
        app.client.post(f"{base}/arrange", data={"order": f"{first},{second}"}, headers=member).status_code
        == 204
    )
    assert [w.id for w in _dashboard(app, world).widgets] == [first, second]
    bad = app.client.post(f"{base}/arrange", data={"order": f"{first}"}, headers=member)
    assert bad.status_code == 422
    app.client.post(f"{base}/widgets/{second}/resize", data={"width": 2}, headers=member)
    page = app.client.get(base, headers=world.people["viewer"].auth())
    assert page.status_code == 200 and page.text.count('class="card widget') == 2
    assert 'class="card widget wide"' in page.text and "draggable" not in page.text  # a viewer only looks
    table = app.client.get(f"{base}/widgets/{second}?period=30d", headers=member)
    assert [r[1] for r in _cells(table.text)] == ["3", "2", "1"]
    app.client.post(f"{base}/widgets/{first}/remove", headers=member)
    app.client.post(f"{base}/rename", data={"name": "Sales"}, headers=member)
    board = _dashboard(app, world)
    assert [w.id for w in board.widgets] == [second] and board.name == "Sales"
    app.client.post(f"{base}/delete", headers=member)
    assert app.client.get(base, headers=member).status_code == 404


def test_an_insight_of_another_project_cannot_be_placed_on_a_dashboard(app: Running) -> None:
    world, other = build_world(app), build_world(app)
    owner = world.people["owner"].auth()
    response = app.client.post(
        f"/app/projects/{world.project_id}/dashboards/{world.dashboard_id}/widgets",
        data={"insight_id": other.insight_id},
        headers=owner,
    )
    assert response.status_code == 404
    assert len(_dashboard(app, world).widgets) == 1


def test_the_plan_limits_dashboards_per_organisation(app: Running) -> None:
    world = build_world(app, plan="basic")  # 3 dashboards; the world has made one
    member = world.people["member"].auth()
    url = f"/app/projects/{world.project_id}/dashboards"
    for name in ("Two", "Three"):
        assert (
            app.client.post(url, data={"name": name}, headers=member, follow_redirects=False).status_code
            == 303
        )
    refused = app.client.post(url, data={"name": "Four"}, headers=member)
    assert refused.status_code == 403 and "3" in refused.text and "dashboards" in refused.text
    with transaction(app.runtime.sessions) as session:
        assert service.dashboard_count(session, organisation_id=world.org_id) == 3


def _share(app: Running, world: World, password: str = "") -> str:
    base = f"/app/projects/{world.project_id}/dashboards/{world.dashboard_id}"
    app.client.post(f"{base}/share", data={"password": password}, headers=world.people["member"].auth())
    page = app.client.get(base, headers=world.people["member"].auth()).text
    found = re.search(r'<pre id="share-url">[^<]*/share/([^<]+)</pre>', page)
    assert found, "the dashboard page shows its link"
    return found.group(1)


def test_a_shared_dashboard_opens_logged_out_can_be_framed_and_revoked(app: Running) -> None:
    world = build_world(app)
    _capture_journeys(app, world)
    token = _share(app, world)
    with TestClient(BelvedereApp(app.runtime, manage_runtime=False)) as stranger:
        page = stranger.get(f"/share/{token}")
        assert page.status_code == 200 and "Board" in page.text and "Log out" not in page.text
        assert "x-frame-options" not in page.headers
        assert "frame-ancestors" not in page.headers["content-security-policy"]
        widget = stranger.get(f"/share/{token}/widgets/{world.widget_id}?period=30d")
        assert widget.status_code == 200 and ">3</p>" in widget.text  # 3 visitors in the stats widget
        forged = token[:-1] + ("0" if token[-1] != "0" else "1")
        assert stranger.get(f"/share/{forged}").status_code == 404
        assert stranger.get(f"/share/{token}/widgets/{world.widget_id + 999}").status_code == 404
        renewed = _share(app, world)
        assert renewed != token and stranger.get(f"/share/{token}").status_code == 404
        assert stranger.get(f"/share/{renewed}").status_code == 200
        app.client.post(
            f"/app/projects/{world.project_id}/dashboards/{world.dashboard_id}/unshare",
            headers=world.people["member"].auth(),
        )
        assert stranger.get(f"/share/{renewed}").status_code == 404
        assert stranger.get(f"/share/{renewed}/widgets/{world.widget_id}").status_code == 404


def test_a_password_protected_link_asks_once_and_forgets_on_a_new_password(app: Running) -> None:
    world = build_world(app)
    token = _share(app, world, password="open sesame")
    with TestClient(BelvedereApp(app.runtime, manage_runtime=False)) as stranger:
        ask = stranger.get(f"/share/{token}")
        assert 'type="password"' in ask.text and "Board" in ask.text and "widget" not in ask.text
        assert stranger.get(f"/share/{token}/widgets/{world.widget_id}").status_code == 404
        wrong = stranger.post(f"/share/{token}", data={"password": "nope"})
        assert wrong.status_code == 403 and "Wrong password" in wrong.text
        right = stranger.post(f"/share/{token}", data={"password": "open sesame"}, follow_redirects=False)
        assert right.status_code == 303
        assert 'class="card widget' in stranger.get(f"/share/{token}").text
        assert stranger.get(f"/share/{token}/widgets/{world.widget_id}").status_code == 200
        # Sharing again with another password: a new link, and the old unlock cookie opens nothing.
        renewed = _share(app, world, password="another one")
        assert 'type="password"' in stranger.get(f"/share/{renewed}").text


def test_password_guessing_on_a_shared_link_is_throttled(app: Running) -> None:
    world = build_world(app)
    token = _share(app, world, password="open sesame")
    with TestClient(BelvedereApp(app.runtime, manage_runtime=False)) as stranger:
        codes = [
            stranger.post(f"/share/{token}", data={"password": f"guess {i}"}).status_code for i in range(11)
        ]
        assert codes == [403] * 10 + [429]
        blocked = stranger.post(f"/share/{token}", data={"password": "open sesame"})
        assert blocked.status_code == 429 and "Too many wrong passwords" in blocked.text


def test_share_tokens_are_signed_over_the_stored_nonce() -> None:
    board = Dashboard(id=7, project_id=1, name="x")
    token = sharing.share(board, "secret", password_hash=None)
    assert token.startswith("7.") and sharing.token_of(board, "secret") == token
    assert sharing.token_of(board, "another secret") != token
    sharing.revoke(board)
    with pytest.raises(ValueError, match="not shared"):
        sharing.token_of(board, "secret")


def test_moving_and_arranging_keep_positions_dense() -> None:
    from belvedere.dashboards.models import Widget

    board = Dashboard(id=1, project_id=1, name="x")
    board.widgets = [Widget(id=i, position=i, display="number", insight_id=1) for i in range(1, 5)]
    service.move_widget(board, 4, -10)
    assert sorted((w.position, w.id) for w in board.widgets) == [(0, 4), (1, 1), (2, 2), (3, 3)]
    service.move_widget(board, 4, 1)
    assert sorted((w.position, w.id) for w in board.widgets) == [(0, 1), (1, 4), (2, 2), (3, 3)]
    with pytest.raises(ValueError, match="each widget"):
        service.arrange(board, [1, 2, 3, 3])
    with pytest.raises(LookupError):
        service.move_widget(board, 99, 1)


_RETENTION = "/app/projects/{}/retention?start_event=login&return_event=login&period=week"


def _capture_logins(app: Running, world: World, logins: list[tuple[str, str, int | None]]) -> None:
    """`login` events: (person, time, revenue or None)."""
    batch = [
        {
            "event": "login",
            "distinct_id": who,
            "timestamp": when,
            "properties": {"revenue": paid} if paid else {},
        }
        for who, when, paid in logins
    ]
    response = app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert response.json()["accepted"] == len(batch)
    assert app.wait_stored(len(batch), world.project_id) == len(batch)


def _weeks(table: str) -> tuple[list[str], list[str]]:
    """The cells of the first table in ``table`` for the cohorts of the weeks of MONDAY and the next."""
    rows = {r[0]: r[1:] for r in _cells(table)}
    first, second = (MONDAY + timedelta(days=d) for d in (0, 7))
    return (
        next(v for k, v in rows.items() if first.isoformat() in k),
        next(v for k, v in rows.items() if second.isoformat() in k),
    )


def test_retention_page_shows_cohorts_as_a_heatmap_and_can_be_saved(app: Running) -> None:
    world = build_world(app)
    # Weeks start on Monday. A and B start in MONDAY's week, A comes back the next; C starts in the next.
    logins = [("A", at(MONDAY, "09:00:00")), ("B", at(MONDAY, "09:00:00", plus_days=1))]
    logins += [("A", at(MONDAY, "09:00:00", plus_days=8)), ("C", at(MONDAY, "10:00:00", plus_days=8))]
    _capture_logins(app, world, [(who, when, None) for who, when in logins])
    member = world.people["member"].auth()
    page = app.client.get(_RETENTION.format(world.project_id), headers=member)
    assert page.status_code == 200, page.text
    first, second = _weeks(page.text.split('id="retention-title"', 1)[1])
    assert first[:3] == ["2", "100.0%", "50.0%"]  # size, week 0, week 1
    assert second[:3] == ["1", "100.0%", "0.0%"]
    assert 'class="num heat-5"' in page.text  # 50 % is drawn half-way up the scale
    assert "Save this retention table" in page.text
    # The mean of the cohorts, by size: week 1 is 1 of the 3 people whose cohorts reached it; the curve too.
    mean = page.text.split("Mean, by size</th>", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r">([^<]*)</td>", mean)[1:3] == ["100.0%", "33.3%"]
    curve = json.loads(html.unescape(re.search(r'data-chart="([^"]+)"', page.text).group(1)))  # type: ignore[union-attr]
    assert curve["series"][0]["data"][:2] == [100.0, 33.33]


def test_retention_page_shows_revenue_per_person_when_asked(app: Running) -> None:
    world = build_world(app)
    # MONDAY's cohort: A (30, then 10 the next week) and B (nothing); the next week's: C (8).
    logins = [("A", at(MONDAY, "09:00:00"), 30), ("B", at(MONDAY, "09:00:00", plus_days=1), None)]
    logins += [("A", at(MONDAY, "09:00:00", plus_days=8), 10), ("C", at(MONDAY, "10:00:00", plus_days=8), 8)]
    _capture_logins(app, world, logins)
    member = world.people["member"].auth()
    url = _RETENTION.format(world.project_id)
    without = app.client.get(url, headers=member)
    assert without.status_code == 200 and "Revenue per person" not in without.text
    page = app.client.get(url + "&ltv=1", headers=member)
    assert page.status_code == 200, page.text
    first, second = _weeks(page.text.split("Revenue per person, cumulative (LTV, in USD)", 1)[1])
    assert first[:2] == ["15.00", "20.00"]  # (30) / 2 people, then (30 + 10) / 2
    assert second[:2] == ["8.00", "8.00"]


def test_paths_page_draws_the_visits_steps_as_a_sankey(app: Running) -> None:
    world = build_world(app)
    _capture_journeys(app, world)
    viewer = world.people["viewer"].auth()
    page = app.client.get(
        f"/app/projects/{world.project_id}/paths?type=events&period=30d&depth=3", headers=viewer
    )
    assert page.status_code == 200, page.text
    found = re.search(r'data-chart="([^"]+)"', page.text)
    assert found
    chart = json.loads(found.group(1).replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&"))
    links = {(link["source"], link["target"]): link["value"] for link in chart["links"]}
    # From JOURNEYS: A and B went from the page view to signup; only A went on to purchase.
    assert links == {("1. $pageview", "2. signup"): 2, ("2. signup", "3. purchase"): 1}
    nothing = app.client.get(
        f"/app/projects/{world.project_id}/paths?start=/nowhere&period=30d", headers=viewer
    )
    assert nothing.status_code == 200 and "No visit went anywhere" in nothing.text


def test_the_overview_saves_its_figures_chart_and_tables_for_dashboards(app: Running) -> None:
    world = build_world(app)
    _capture_journeys(app, world)
    member = world.people["member"].auth()
    overview = app.client.get(f"/app/projects/{world.project_id}?period=30d&metric=pageviews", headers=member)
    options = dict(
        (label, json.loads(html.unescape(value)))
        for value, label in re.findall(r'<option value="(\{[^"]+\})">([^<]+)</option>', overview.text)
    )
    assert set(options) >= {"Key figures", "Chart of pageviews", "Top pages", "Countries"}
    assert options["Chart of pageviews"]["series"] == [{"event": "$pageview"}]
    assert options["Countries"]["date_from"] == "-29d"  # 30 days: today and the 29 before
    ids = {}
    for label in ("Countries", "Channels"):
        saved = app.client.post(
            f"/app/projects/{world.project_id}/insights",
            data={"name": label, "query": json.dumps(options[label])},
            headers=member,
            follow_redirects=False,
        )
        ids[label] = int(saved.headers["location"].rsplit("/", 1)[1])
    base = f"/app/projects/{world.project_id}/dashboards/{world.dashboard_id}"
    on_map = app.client.post(
        f"{base}/widgets", data={"insight_id": ids["Countries"], "display": "map"}, headers=member
    )
    assert on_map.status_code == 200  # followed back to the dashboard
    refused = app.client.post(
        f"{base}/widgets", data={"insight_id": ids["Channels"], "display": "map"}, headers=member
    )
    assert refused.status_code == 422 and "can be shown as table, bar" in refused.text
    widget = _dashboard(app, world).widgets[-1]
    drawn = app.client.get(f"{base}/widgets/{widget.id}", headers=member).text
    found = re.search(r'data-chart="([^"]+)"', drawn)
    assert found and json.loads(html.unescape(found.group(1)))["type"] == "map"
    viewer_page = app.client.get(
        f"/app/projects/{world.project_id}", headers=world.people["viewer"].auth()
    ).text
    assert "Save for a dashboard" not in viewer_page


def test_funnel_steps_filter_on_any_field_or_property(app: Running) -> None:
    world = build_world(app)
    batch = [
        {
            "event": "signup",
            "distinct_id": who,
            "timestamp": at(DAY, "10:00:00"),
            "properties": {"plan": plan},
        }
        for who, plan in (("a", "pro"), ("b", "free"))
    ]
    batch += [
        {"event": "purchase", "distinct_id": who, "timestamp": at(DAY, "10:05:00")} for who in ("a", "b")
    ]
    app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert app.wait_stored(4, world.project_id) == 4
    viewer = world.people["viewer"].auth()
    url = (
        f"/app/projects/{world.project_id}/funnels?period=30d&window=86400"
        "&step=signup&field=properties.plan&value=pro&step=purchase&field=path&value="
    )
    page = app.client.get(url, headers=viewer)
    rows = _cells(page.text.split('id="funnel-title"', 1)[1])
    assert [r[1] for r in rows] == ["1", "1"]  # only a signed up on the pro plan
    unknown = app.client.get(url.replace("properties.plan", "plan"), headers=viewer)
    assert unknown.status_code == 422 and "unknown field" in unknown.text
