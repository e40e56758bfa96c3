"""Issue #27: the events explorer — the latest raw events with their properties, filterable, paged, the
first page refreshing itself, each event linked to its person."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running

from belvedere.web.pages import events_pages


def _rows(text: str) -> list[str]:
    return re.findall(r"<tr>\s*<td><time.*?</tr>", text, flags=re.S)


def test_latest_events_filtered_paged_and_linked(app: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)

    def at(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")

    batch = [
        {
            "type": "page",
            "distinct_id": "ada",
            "timestamp": at(0),
            "context": {"page": {"url": "https://x.example/"}},
        },
        {
            "event": "signup",
            "distinct_id": "ada",
            "timestamp": at(1),
            "properties": {"plan": "pro", "seats": 3},
        },
        {
            "event": "search",
            "distinct_id": "bob",
            "timestamp": at(2),
            "properties": {"q": "<script>x</script>"},
        },
    ]
    response = app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert response.json()["accepted"] == 3
    assert app.wait_stored(3, world.project_id) == 3
    base = f"/app/projects/{world.project_id}/events"

    shown = app.client.get(base, headers=viewer)
    assert shown.status_code == 200
    rows = _rows(shown.text)
    assert [re.search(r"</time></td>\s*<td>([^<]+)</td>", r).group(1) for r in rows] == [  # type: ignore[union-attr]
        "search",
        "signup",
        "Page view",
    ]
    assert "<dt>plan</dt><dd>pro</dd>" in rows[1] and "<dt>seats</dt><dd>3</dd>" in rows[1]
    assert (
        "&lt;script&gt;x&lt;/script&gt;" in rows[0] and "<script>x" not in shown.text
    )  # visitor input escaped
    person = f'href="/app/projects/{world.project_id}/person?id=ada"'
    assert person in rows[1] and person in rows[2]
    assert 'hx-trigger="every 10s"' in shown.text  # the first page is live

    only = app.client.get(f"{base}?event=signup", headers=viewer)
    assert len(_rows(only.text)) == 1
    pro = app.client.get(f"{base}?f=properties.plan%7Ceq%7Cpro", headers=viewer)
    assert len(_rows(pro.text)) == 1 and "Remove the filter properties.plan is pro" in pro.text
    none = app.client.get(f"{base}?event=nothing", headers=viewer)
    assert "No event matches in this period" in none.text

    monkeypatch.setattr(events_pages, "PAGE_SIZE", 2)
    first = app.client.get(base, headers=viewer)
    assert len(_rows(first.text)) == 2 and 'href="?period=7d&amp;page=2">Older' in first.text
    second = app.client.get(f"{base}?period=7d&page=2", headers=viewer)
    assert len(_rows(second.text)) == 1 and "Newer" in second.text and "every 10s" not in second.text
    assert '<input type="hidden" name="page" value="2">' not in second.text  # a new filter starts at page 1
    partial = app.client.get(f"{base}?period=7d&partial=1", headers=viewer)
    assert "<html" not in partial.text and 'id="event-list"' in partial.text  # the list alone
    assert len(_rows(partial.text)) == 2

    assert app.client.get(base, headers=world.people["outsider"].auth()).status_code == 404
