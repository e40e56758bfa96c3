"""Issue #27: goals saved per project (custom events, page patterns, revenue events), the goals panel under
their names, a conversion column in every panel once a goal is chosen, revenue as a key figure, and
retention over a chosen range of cohorts."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running


def _send(app: Running, key: str, batch: list[dict[str, object]]) -> None:
    response = app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.json()["accepted"] == len(batch)


def _cells(text: str) -> list[list[str]]:
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", text, flags=re.S)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, flags=re.S) for r in rows]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in row] for row in cells]


def test_goals_saved_shown_and_measured(app: Running) -> None:
    world = build_world(app)
    admin, viewer = world.people["admin"].auth(), world.people["viewer"].auth()
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    at = now.isoformat().replace("+00:00", "Z")

    def page(person: str, path: str) -> dict[str, object]:
        return {
            "type": "page",
            "distinct_id": person,
            "timestamp": at,
            "context": {"page": {"url": f"https://x.example{path}"}},
        }

    _send(
        app,
        world.write_key,
        [
            page("ann", "/blog/one"),
            page("bob", "/blog/two"),
            page("cat", "/pricing"),
            page("dan", "/"),
            {"event": "purchase", "distinct_id": "cat", "timestamp": at, "properties": {"revenue": 40}},
            {"event": "purchase", "distinct_id": "dan", "timestamp": at, "properties": {"revenue": 9.5}},
            {"type": "identify", "distinct_id": "dan", "timestamp": at, "properties": {"name": "Dan"}},
        ],
    )
    assert app.wait_stored(7, world.project_id) == 7
    settings = f"/app/projects/{world.project_id}/settings"

    # Admins add goals; names are unique, patterns are paths, a revenue goal is an event.
    for kind, target, name in (("page", "/blog/*", "Read the blog"), ("revenue", "purchase", "Purchases")):
        added = app.client.post(
            f"{settings}/goals", data={"kind": kind, "target": target, "name": name}, headers=admin
        )
        assert added.status_code == 200 and "Goal added" in added.text
    again = app.client.post(
        f"{settings}/goals", data={"kind": "event", "target": "x", "name": "purchases"}, headers=admin
    )
    assert again.status_code == 422 and "same name" in again.text
    wrong = app.client.post(
        f"{settings}/goals", data={"kind": "page", "target": "blog", "name": "B"}, headers=admin
    )
    assert wrong.status_code == 422 and "starting with /" in wrong.text
    denied = app.client.post(f"{settings}/goals", data={"kind": "event", "target": "x"}, headers=viewer)
    assert denied.status_code in (403, 404)
    # The project's other settings form keeps the goals, and sets the currency.
    kept = app.client.post(
        settings, data={"name": "Shop", "timezone": "UTC", "currency": "eur"}, headers=admin
    )
    assert kept.status_code == 200 and "Read the blog" in kept.text and 'value="EUR"' in kept.text

    base = f"/app/projects/{world.project_id}"
    panel = app.client.get(f"{base}/panels/events?period=7d", headers=viewer)
    rows = _cells(panel.text)
    assert rows[0] == ["Goal", "People", "Events", "Rate", "Revenue"]
    # 4 visitors: ann and bob read the blog; cat and dan bought for €49.50; $identify is not a goal.
    assert rows[1:] == [
        ["Read the blog", "2", "2", "50.0%", "\u2013"],
        ["Purchases", "2", "2", "50.0%", "€49.50"],
    ]
    assert 'href="?period=7d&amp;goal=Read+the+blog"' in panel.text

    overview = app.client.get(f"{base}?period=7d&goal=Read+the+blog", headers=viewer).text
    assert re.search(r'data-kpi="conversion">50.0%<', overview)
    assert re.search(r'data-kpi="revenue">€49.50<', overview)
    pages = _cells(app.client.get(f"{base}/panels/pages?period=7d&goal=Read+the+blog", headers=viewer).text)
    assert pages[0][-1] == "CR"
    assert {r[0]: r[-1] for r in pages[1:]} == {
        "/blog/one": "100.0%",
        "/blog/two": "100.0%",
        "/pricing": "0.0%",
        "/": "0.0%",
    }

    removed = app.client.post(f"{settings}/goals/delete", data={"name": "Purchases"}, headers=admin)
    assert removed.status_code == 200 and "removed" in removed.text
    rows = _cells(app.client.get(f"{base}/panels/events?period=7d", headers=viewer).text)
    assert [r[0] for r in rows[1:]] == ["Read the blog"]


def test_the_goals_panel_hides_bookkeeping_events_without_saved_goals(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    _send(
        app,
        world.write_key,
        [
            {"event": "signup", "distinct_id": "ann", "timestamp": at},
            {"type": "identify", "distinct_id": "ann", "timestamp": at, "properties": {"name": "Ann"}},
        ],
    )
    assert app.wait_stored(2, world.project_id) == 2
    rows = _cells(
        app.client.get(f"/app/projects/{world.project_id}/panels/events?period=7d", headers=viewer).text
    )
    assert [r[0] for r in rows[1:]] == ["signup"]


def test_retention_over_a_chosen_range_of_cohorts(app: Running) -> None:
    world = build_world(app)
    member = world.people["member"].auth()
    shown = app.client.get(
        f"/app/projects/{world.project_id}/retention?period=day&from=2026-11-10&to=2026-11-03", headers=member
    )
    assert shown.status_code == 200
    assert 'value="2026-11-03"' in shown.text and 'value="2026-11-10"' in shown.text  # put in order
    asked = re.search(r'name="query" value="([^"]+)"', shown.text)
    assert asked, "the question can be saved"
    question = json.loads(html.unescape(asked.group(1)))
    assert (question["date_from"], question["date_to"]) == ("2026-11-03", "2026-11-10")
