"""Issue #30 in the web app: the trend builder draws the expected range of its first series with the
anomalies marked, each complete day linked to "why did it change?", which splits that day's change
against the same weekday a week earlier over the usual dimensions."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def _page(person: str, day: date, minute: int, referrer: str | None) -> dict[str, object]:
    at = datetime(day.year, day.month, day.day, 10, tzinfo=UTC) + timedelta(minutes=minute)
    page: dict[str, str] = {"url": "https://x.example/"}
    if referrer:
        page["referrer"] = referrer
    return {
        "type": "page",
        "distinct_id": person,
        "timestamp": int(at.timestamp() * 1000),
        "context": {"page": page, "user_agent": CHROME},
    }


def _history(app: Running, key: str, last: date, spike: date) -> int:
    """Five weeks of 6 direct visitors a day (3 at weekends), and on ``spike`` 30 more from Hacker News."""
    batch = []
    day = last - timedelta(days=34)
    while day <= last:
        for i in range(6 if day.weekday() < 5 else 3):
            batch.append(_page(f"d{day}{i}", day, i, None))
        if day == spike:
            batch += [_page(f"h{i}", day, 10 + i, "https://news.ycombinator.com/item") for i in range(30)]
        day += timedelta(days=1)
    sent = 0
    for start in range(0, len(batch), 100):
        part = batch[start : start + 100]
        r = app.client.post(
            "/api/v1/capture", json={"batch": part}, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.json()["accepted"] == len(part)
        sent += len(part)
    return sent


def _chart(text: str) -> dict[str, object]:
    found = re.search(r'data-chart="([^"]+)"', text)
    assert found, "no chart"
    return dict(json.loads(html.unescape(found.group(1))))


def test_a_trend_with_its_expected_range_and_why_a_day_changed(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    today = datetime.now(UTC).date()
    last = today - timedelta(days=1)
    spike = last - timedelta(days=2)
    sent = _history(app, world.write_key, last, spike)
    assert app.wait_stored(sent, world.project_id) == sent
    base = f"/app/projects/{world.project_id}/trends"
    asked = [("event", "$pageview"), ("math", "unique_users"), ("period", "7d"), ("interval", "day")]
    page = app.client.get(f"{base}?{urlencode([*asked, ('anomalies', '1')])}", headers=viewer)
    assert page.status_code == 200, page.text
    chart = _chart(page.text)
    labels = chart["labels"]
    band = chart["band"]
    assert isinstance(labels, list) and isinstance(band, dict)
    assert band["name"] == "Expected range" and len(band["lower"]) == len(labels) == 7  # today the last
    at = len(labels) - 1 - (today - spike).days
    assert chart["anomalies"] == [{"at": at, "value": 36 if spike.weekday() < 5 else 33, "up": True}]
    links = chart["links"]
    assert isinstance(links, list) and links[-1] is None  # today is under way: nothing to explain yet
    assert "1 anomaly (marked): " + spike.isoformat() in html.unescape(page.text)
    # Without the option, or on a chart that cannot carry it, no band (and a sentence why).
    assert "band" not in _chart(app.client.get(f"{base}?{urlencode(asked)}", headers=viewer).text)
    bars = app.client.get(
        f"{base}?{urlencode([*asked, ('anomalies', '1'), ('display', 'bar')])}", headers=viewer
    )
    assert "band" not in _chart(bars.text) and "drawn on a line" in bars.text

    why = links[at]
    assert isinstance(why, str)
    query = dict(parse_qsl(urlsplit(why).query))
    assert query == {
        "event": "$pageview",
        "math": "unique_users",
        "at": spike.isoformat(),
        "interval": "day",
    }
    explained = app.client.get(why, headers=viewer)
    assert explained.status_code == 200, explained.text
    text = html.unescape(explained.text)
    usual = 6 if spike.weekday() < 5 else 3
    assert f"{usual + 30:,} against {usual:,}" in text
    causes = re.search(r'<ol class="causes">(.*?)</ol>', explained.text, flags=re.S)
    assert causes, "no causes listed"
    first = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", causes.group(1)))).strip()
    # Chrome, Linux, desktop and no country were the whole before and after: they moved with the total but
    # explain none of it, and are not named.
    assert first == (
        "Channel: Organic Social 0 → 30 (+30, 100 % of the change)"
        " Referrer: news.ycombinator.com 0 → 30 (+30, 100 % of the change)"
    ), first
    other = app.client.get(f"{why}&baseline=previous_period", headers=viewer)
    assert "the period just before" in html.unescape(other.text).lower()
    broken = app.client.get(
        f"/app/projects/{world.project_id}/why?event=%24pageview&at=yesterday", headers=viewer
    )
    assert broken.status_code == 422 and "open it again from a chart" in broken.text

    # The overview compares its chart with the expected range too (visitors, as the trend above); its key
    # figures' changes stay against the previous period.
    overview = f"/app/projects/{world.project_id}"
    shown = app.client.get(f"{overview}?period=7d&compare=expected", headers=viewer)
    assert shown.status_code == 200, shown.text
    drawn = _chart(shown.text)
    assert drawn["band"] == band and drawn["anomalies"] == chart["anomalies"]
    said = html.unescape(shown.text)
    assert "Visitors against the expected range</h2>" in said
    assert "1 anomaly (marked): " + spike.isoformat() in said
    assert 'aria-current="true">Expected range</a>' in said and "Changes are against" in said
    months = app.client.get(f"{overview}?period=12m&compare=expected", headers=viewer)
    assert "band" not in _chart(months.text) and "choose 30 days or less" in months.text


def test_why_an_hour_changed(app: Running) -> None:
    """A point of an hourly chart: that hour against the same hour a week earlier."""
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    day = datetime.now(UTC).date() - timedelta(days=2)
    earlier = day - timedelta(days=7)
    batch = [_page(f"e{i}", earlier, i, None) for i in range(3)]  # 10:00-10:02 a week before
    batch += [_page(f"n{i}", day, i, "https://news.ycombinator.com/") for i in range(5)]
    r = app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert r.json()["accepted"] == len(batch)
    assert app.wait_stored(len(batch), world.project_id) == len(batch)
    asked = {"event": "$pageview", "math": "total", "at": f"{day}T10:00", "interval": "hour"}
    page = app.client.get(f"/app/projects/{world.project_id}/why?{urlencode(asked)}", headers=viewer)
    assert page.status_code == 200, page.text
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.text)))
    assert f"the hour from {day}T10:00" in text
    assert "5 against 3 (+66.7 %)" in text
    assert f"From {day}T10:00 to {day}T11:00, against {earlier}T10:00 to {earlier}T11:00" in text


def test_why_refuses_what_it_cannot_read_with_a_clear_answer(app: Running) -> None:
    """Hostile or broken links get a page that says what is wrong (422), never a server error."""
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    base = f"/app/projects/{world.project_id}/why"
    for asked in (
        {"event": "$pageview", "at": "2026-13-45", "interval": "day"},
        {"event": "$pageview", "at": "2026-12-01T99:00", "interval": "hour"},
        {"event": "$pageview", "at": "2026-12-01", "sf": "project_id", "so": "eq", "sv": "1"},
        {"event": "$pageview", "at": "2026-12-01", "sf": "path", "so": "'; DROP TABLE events", "sv": "x"},
        {"event": "x" * 5000, "at": "2026-12-01", "math": "sum", "baseline": "forever"},
    ):
        page = app.client.get(f"{base}?{urlencode(asked)}", headers=viewer)
        assert page.status_code in (200, 422), (asked, page.status_code)
        assert "Why did it change?" in page.text
    outsider = app.client.get(f"{base}?at=2026-12-01", headers=world.people["outsider"].auth())
    assert outsider.status_code == 404
