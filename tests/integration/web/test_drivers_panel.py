"""The funnel page's "What goes with converting" panel: loaded after the funnel from the same URL, it
compares the first step's people who did the last step with the others, in numbers a person can check:
of 20 who signed up, the 10 who bought include 8 of the 9 who watched the demo."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running


def test_the_panel_names_what_buyers_did_more(app: Running) -> None:
    world = build_world(app)
    member = world.people["member"].auth()
    start = datetime.now(UTC) - timedelta(days=2)

    def at(minutes: int) -> int:
        return int((start + timedelta(minutes=minutes)).timestamp() * 1000)

    events: list[dict[str, object]] = []
    for i in range(20):
        who = f"p{i}"
        events.append({"event": "signup", "distinct_id": who, "timestamp": at(i)})
        if i < 8 or i == 15:  # 8 buyers and one other watched the demo, before buying
            events.append({"event": "watched_demo", "distinct_id": who, "timestamp": at(30 + i)})
        if i < 10:
            events.append({"event": "buy", "distinct_id": who, "timestamp": at(60 + i)})
    r = app.client.post(
        "/api/v1/capture", json={"batch": events}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert r.json()["accepted"] == len(events)
    assert app.wait_stored(len(events), world.project_id) == len(events)
    base = f"/app/projects/{world.project_id}/funnels"
    query = "step=signup&step=buy&period=7d"
    funnel = app.client.get(f"{base}?{query}", headers=member)
    assert funnel.status_code == 200
    assert f'hx-get="{base}/drivers?{query.replace("&", "&amp;")}"' in funnel.text
    panel = app.client.get(f"{base}/drivers?{query}", headers=member)
    assert panel.status_code == 200, panel.text
    text = re.sub(r"\s+", " ", panel.text)
    assert "Of the 20 people who did <strong>signup</strong> in the period, 10 (50.0 %) also did" in text
    row = re.search(r"<th scope=\"row\">did watched_demo</th>(.*?)</tr>", text)
    assert row, text
    # 8 of the 9 who watched converted, 2 of the 11 who did not; odds ratio (8 * 9) / (1 * 2) = 36.
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells[:3] == ["88.9 % of 9", "18.2 %", cells[2]] and cells[2].startswith("36.00 (")
    assert "converts more" in cells[3]
    # A one-step funnel has nothing to compare; another organisation reaches nothing.
    assert app.client.get(f"{base}/drivers?step=signup", headers=member).status_code == 204
    outsider = world.people["outsider"].auth()
    assert app.client.get(f"{base}/drivers?{query}", headers=outsider).status_code == 404
