"""The people list (search, pages) and a person's profile, against events sent through the capture API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.integration.accounts.kit import World, build_world
from tests.integration.capture_kit import Running

# Two weeks ago, and the day after: inside "the last 30 days" whatever day the suite runs on.
DAY = datetime.now(UTC).date() - timedelta(days=14)
NEXT = DAY + timedelta(days=1)


def _send(app: Running, world: World, batch: list[dict[str, object]]) -> None:
    response = app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert response.json()["accepted"] == len(batch)


def _rows(html: str) -> list[list[str]]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = body.split("</tr>")[:-1]
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows
    ]


def test_people_list_searches_and_pages(app: Running) -> None:
    world = build_world(app)
    batch = [
        {"event": "opened", "distinct_id": f"user-{i:03d}", "timestamp": f"{DAY}T10:{i % 60:02d}:00Z"}
        for i in range(55)
    ]
    _send(app, world, batch)
    assert app.wait_stored(55, world.project_id) == 55
    viewer = world.people["viewer"].auth()
    base = f"/app/projects/{world.project_id}/users?period=30d"
    first = app.client.get(base, headers=viewer)
    assert first.status_code == 200 and "55 people active" in first.text
    assert len(_rows(first.text)) == 50 and "1\u201350 of 55" in first.text
    next_link = re.search(r'href="(\?[^"]*page_no=2[^"]*)">Next', first.text)
    assert next_link
    second = app.client.get(
        f"/app/projects/{world.project_id}/users" + next_link.group(1).replace("&amp;", "&"), headers=viewer
    )
    assert len(_rows(second.text)) == 5 and "Next →" not in second.text
    found = app.client.get(base + "&search=user-04", headers=viewer)
    ids = sorted(r[0] for r in _rows(found.text))
    assert ids == [f"user-{i:03d}" for i in range(40, 50)]
    none = app.client.get(base + "&search=zzz", headers=viewer)
    assert "No person's id contains" in none.text


def test_a_persons_profile_counts_their_activity(app: Running) -> None:
    world = build_world(app)
    url = {"context": {"page": {"url": "https://shop.example/"}}}
    batch = [
        {
            "type": "identify",
            "distinct_id": "ada",
            "timestamp": f"{DAY}T08:59:00Z",
            "properties": {"name": "Ada Lovelace", "plan": "pro"},
        },
        {"type": "page", "distinct_id": "ada", "timestamp": f"{DAY}T09:00:00Z", **url},
        {"event": "search", "distinct_id": "ada", "timestamp": f"{DAY}T09:01:00Z"},
        {"event": "search", "distinct_id": "ada", "timestamp": f"{DAY}T09:02:00Z"},
        {
            "event": "purchase",
            "distinct_id": "ada",
            "timestamp": f"{NEXT}T15:00:00Z",
            "properties": {"revenue": 30},
        },
        {"event": "search", "distinct_id": "bob", "timestamp": f"{NEXT}T15:00:00Z"},
    ]
    _send(app, world, batch)
    assert app.wait_stored(6, world.project_id) >= 5
    viewer = world.people["viewer"].auth()
    listing = app.client.get(f"/app/projects/{world.project_id}/users?period=30d", headers=viewer)
    assert "Ada Lovelace" in listing.text
    page = app.client.get(f"/app/projects/{world.project_id}/person?id=ada", headers=viewer)
    assert page.status_code == 200, page.text
    kpis = dict(re.findall(r"<h2>([^<]+)</h2><p class=\"value[^\"]*\">([^<]+)</p>", page.text))
    # By hand: 5 events (identify, page view, two searches, purchase) in 2 visits (the purchase is a day
    # later) on 2 days.
    assert kpis["Events"] == "5" and kpis["Visits"] == "2" and kpis["Days active"] == "2"
    assert kpis["Revenue"] == "30.00" and kpis["First seen"] == f"{DAY} 08:59"
    top = page.text.split("Most used features", 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<td>(\w+)</td><td class=\"num\">(\d+)</td>", top) == [
        ("search", "2"),
        ("purchase", "1"),
    ]
    assert "<dt>plan</dt><dd>pro</dd>" in page.text
    timeline = page.text.split('id="timeline-title"', 1)[1]
    assert timeline.index(str(NEXT)) < timeline.index(str(DAY))  # newest day first
    assert (
        app.client.get(f"/app/projects/{world.project_id}/person?id=nobody", headers=viewer).status_code
        == 404
    )
    outsider = app.client.get(
        f"/app/projects/{world.project_id}/person?id=ada", headers=world.people["outsider"].auth()
    )
    assert outsider.status_code == 404 and "Ada" not in outsider.text
