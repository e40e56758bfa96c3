"""Issue #27: a panel's "Details" — every value of its breakdown over the overview's period and filters,
searched, a page at a time, and as CSV; each value still filters the overview."""

from __future__ import annotations

import csv
import io

import pytest
from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running

from belvedere.web.pages import details_pages


def _visit(app: Running, key: str, *paths: str) -> None:
    batch = [{"type": "page", "context": {"page": {"url": f"https://x.example{p}"}}} for p in paths]
    response = app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.json()["accepted"] == len(batch)


def test_every_value_searched_paged_and_as_csv(app: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    _visit(app, world.write_key, "/", "/pricing", "/blog/one", "/blog/two", "/blog/three")
    assert app.wait_stored(5, world.project_id) == 5
    base = f"/app/projects/{world.project_id}"
    panel = app.client.get(f"{base}/panels/pages?period=7d", headers=viewer)
    assert f'href="{base}/details/page?period=7d"' in panel.text

    monkeypatch.setattr(details_pages, "PAGE_SIZE", 2)
    first = app.client.get(f"{base}/details/page?period=7d", headers=viewer)
    assert first.status_code == 200 and "1\u20132 of 5" in first.text and "Next →" in first.text
    third = app.client.get(f"{base}/details/page?period=7d&page=3", headers=viewer)
    assert "5 of 5" in third.text and "← Previous" in third.text and "Next →" not in third.text
    blog = app.client.get(f"{base}/details/page?period=7d&q=BLOG", headers=viewer)
    assert "1\u20132 of 3" in blog.text and "/pricing" not in blog.text
    assert f'href="{base}?period=7d&amp;path=%2Fblog%2Fone"' in blog.text  # a value filters the overview
    none = app.client.get(f"{base}/details/page?period=7d&q=nowhere", headers=viewer)
    assert "No page contains “nowhere” in this period." in none.text

    exported = app.client.get(f"{base}/details/page?period=7d&q=blog&format=csv", headers=viewer)
    assert exported.headers["content-type"].startswith("text/csv")
    assert 'filename="page.csv"' in exported.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(exported.text)))
    assert table[0][:2] == ["Page", "Visitors"] and sorted(r[0] for r in table[1:]) == [
        "/blog/one",
        "/blog/three",
        "/blog/two",
    ]
    assert app.client.get(f"{base}/details/nope", headers=viewer).status_code == 404
    theirs = app.client.get(f"{base}/details/page", headers=world.people["outsider"].auth())
    assert theirs.status_code == 404
