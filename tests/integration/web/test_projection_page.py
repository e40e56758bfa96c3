"""The overview's projection: while today (or this month) is under way, the page views and visits so far
plus the forecast of the rest — the numbers of the ``forecast`` kind, asked through the API with the same
filters; other periods have none, and too little history says so."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running

from belvedere.accounts.models import Project
from belvedere.platform.db import transaction


def _send(app: Running, key: str, project_id: int, days: int) -> None:
    now = datetime.now(UTC)
    batch = []
    for d in range(days, -1, -1):
        for h in range(0, 24, 3):
            at = (now - timedelta(days=d)).replace(hour=h, minute=5, second=0, microsecond=0)
            if at >= now:
                continue
            for i in range(2):
                batch.append(
                    {"type": "page", "distinct_id": f"p{d}.{h}.{i}", "timestamp": at.isoformat(),
                     "context": {"page": {"url": f"https://x.example/{'a' if i else 'b'}"}}}
                )  # fmt: skip
    # One event a moment ago: today always has one, whatever the hour the test runs at (just after midnight
    # the 3-hourly ones of today are all still to come, and the overview shows its "no visit yet" state).
    batch.append(
        {"type": "page", "distinct_id": "now", "timestamp": (now - timedelta(seconds=30)).isoformat(),
         "context": {"page": {"url": "https://x.example/a"}}}
    )  # fmt: skip
    for start in range(0, len(batch), 500):
        part = batch[start : start + 500]
        r = app.client.post(
            "/api/v1/capture", json={"batch": part}, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.json()["accepted"] == len(part)
    assert app.wait_stored(len(batch), project_id, timeout=30) == len(batch)


def test_today_is_projected_with_the_forecast_s_numbers(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    base = f"/app/projects/{world.project_id}"
    # No history yet: said so, not guessed.
    empty = app.client.get(f"{base}/projection?period=today", headers=viewer)
    assert "the forecast needs two weeks of history" in empty.text
    _send(app, world.write_key, world.project_id, days=20)
    overview = app.client.get(f"{base}?period=today", headers=viewer)
    assert f'hx-get="{base}/projection?period=today"' in overview.text
    assert f"{base}/projection" not in app.client.get(f"{base}?period=7d", headers=viewer).text
    assert app.client.get(f"{base}/projection?period=7d", headers=viewer).status_code == 204
    filtered = app.client.get(f"{base}/projection?period=today&f=path%7Ceq%7C%2Fa", headers=viewer)
    shown = re.search(
        r"about <strong>([\d,]+)</strong> page views and <strong>([\d,]+)</strong> visits", filtered.text
    )
    assert shown, filtered.text
    with transaction(app.runtime.sessions) as session:
        zone = session.scalar(select(Project.timezone).where(Project.id == world.project_id)) or "UTC"
    today = datetime.now(ZoneInfo(zone)).date().isoformat()  # the project's today, as the page's
    asked = app.client.post(
        f"/api/v1/projects/{world.project_id}/query",
        json={
            "kind": "forecast",
            "series": [{"event": "$pageview"}, {"event": None, "math": "unique_sessions"}],
            "interval": "hour",
            "date_from": today,
            "date_to": today,
            "filters": [{"property": "path", "operator": "eq", "value": "/a"}],
        },
        headers=viewer,
    ).json()
    expected = [f"{round(s['projected_total']):,}" for s in asked["series"]]
    assert list(shown.groups()) == expected
    month = app.client.get(f"{base}/projection?period=mtd", headers=viewer)
    assert "Projected by the end of the month" in month.text
