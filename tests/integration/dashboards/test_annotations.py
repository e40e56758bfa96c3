"""Issue #27: annotations — a date and a note per project, drawn on its charts at their bucket, added and
removed from the overview or through the API."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running


def _chart(page: str) -> dict[str, object]:
    found = re.search(r'data-chart="([^"]+)"', page)
    assert found
    chart: dict[str, object] = json.loads(html.unescape(found.group(1)))
    return chart


def test_the_api_adds_lists_and_deletes_notes(app: Running) -> None:
    world = build_world(app)  # which notes 1 June 2020: "Launch"
    url = f"/api/v1/projects/{world.project_id}/annotations"
    member = world.people["member"].auth()
    added = app.client.post(url, json={"day": "2026-11-20", "note": "  Price change  "}, headers=member)
    assert added.status_code == 201 and added.json()["note"] == "Price change"
    listed = app.client.get(url, headers=world.people["viewer"].auth()).json()["results"]
    assert [(n["day"], n["note"]) for n in listed] == [
        ("2020-06-01", "Launch"),
        ("2026-11-20", "Price change"),
    ]
    november = app.client.get(f"{url}?date_from=2026-11-01&date_to=2026-11-30", headers=member).json()
    assert [n["note"] for n in november["results"]] == ["Price change"]
    assert app.client.post(url, json={"day": "2026-11-20", "note": ""}, headers=member).status_code == 422
    assert app.client.post(url, json={"day": "soon", "note": "x"}, headers=member).status_code == 422
    viewer = app.client.post(
        url, json={"day": "2026-11-20", "note": "x"}, headers=world.people["viewer"].auth()
    )
    assert viewer.status_code == 403
    gone = app.client.delete(f"{url}/{added.json()['id']}", headers=member)
    assert gone.status_code == 204
    assert app.client.delete(f"{url}/{added.json()['id']}", headers=member).status_code == 404
    theirs = app.client.get(f"/api/v1/projects/{world.other_project_id}/annotations", headers=member)
    assert theirs.status_code == 404


def test_the_overview_draws_the_notes_of_its_days_and_adds_them(app: Running) -> None:
    world = build_world(app)
    member = world.people["member"].auth()
    app.client.post(
        "/api/v1/capture",
        json={"type": "page", "context": {"page": {"url": "https://x.example/"}}},
        headers={"Authorization": f"Bearer {world.write_key}"},
    )
    assert app.wait_stored(1, world.project_id) == 1
    today = datetime.now(UTC).date()
    two_days_ago = today - timedelta(days=2)
    added = app.client.post(
        f"/app/projects/{world.project_id}/annotations",
        data={"day": two_days_ago.isoformat(), "note": "Newsletter sent", "back": "?period=7d"},
        headers=member,
        follow_redirects=False,
    )
    assert (
        added.status_code == 303
        and added.headers["location"] == f"/app/projects/{world.project_id}?period=7d"
    )
    page = app.client.get(f"/app/projects/{world.project_id}?period=7d", headers=member).text
    chart = _chart(page)
    assert chart["notes"] == [{"at": 4, "text": "Newsletter sent"}]  # 7 daily buckets ending today
    assert "Newsletter sent" in page.split('aria-label="Notes on these days"')[1]
    assert "Launch<" not in page  # 1 June 2020 is not among these days
    # A note outside the range, or sent back anywhere but the overview, goes nowhere else.
    elsewhere = app.client.post(
        f"/app/projects/{world.project_id}/annotations",
        data={"day": "2020-01-01", "note": "Old", "back": "https://evil.example/"},
        headers=member,
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == f"/app/projects/{world.project_id}"
