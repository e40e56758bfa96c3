"""In a real browser (issue #30): a trend with its expected range, the anomaly of a day when Hacker News
sent visitors marked on it, clicked, and its root causes listed — the referrer and its channel, not the
browser everyone uses; in light, dark and phone widths, accessible and valid."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.browser_kit import (
    Watch,
    assert_accessible,
    assert_valid_html,
    browser,
    screenshot,
    sign_up_with_a_project,
)
from tests.e2e.server_kit import FAST_AUTH, Server, cli

pytestmark = pytest.mark.slow

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
SPIKE_DAYS_AGO = 3


def _history(server: Server, key: str) -> int:
    """Five weeks of 6 direct visitors a day (3 at weekends), and 30 more from Hacker News 3 days ago."""
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    batch: list[dict[str, Any]] = []
    for days_ago in range(35, 0, -1):
        day = today - timedelta(days=days_ago)
        visitors = [(f"d{days_ago}.{i}", None) for i in range(6 if day.weekday() < 5 else 3)]
        if days_ago == SPIKE_DAYS_AGO:
            visitors += [(f"hn{i}", "https://news.ycombinator.com/item?id=1") for i in range(30)]
        for i, (who, referrer) in enumerate(visitors):
            page = {"url": "https://shop.example/"} | ({"referrer": referrer} if referrer else {})
            batch.append(
                {
                    "type": "page",
                    "distinct_id": who,
                    "timestamp": (day + timedelta(minutes=i)).isoformat(),
                    "context": {"page": page, "user_agent": CHROME, "ip": "81.2.69.160"},
                }
            )
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as client:
        for start in range(0, len(batch), 100):
            response = client.post("/api/v1/capture", json={"batch": batch[start : start + 100]})
            assert response.status_code == 202, response.text
    return len(batch)


def _chart(page: Any) -> dict[str, Any]:
    page.locator("[data-chart-ready] svg").first.wait_for()
    data: dict[str, Any] = page.eval_on_selector(
        "[data-chart]", "e => JSON.parse(e.getAttribute('data-chart'))"
    )
    return data


def test_an_anomaly_on_a_chart_clicked_to_its_root_causes(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", **FAST_AUTH).start()
    watch = Watch()
    try:
        with browser() as chromium:
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            watch.route(context)
            page = context.new_page()
            watch.attach(page)
            key = sign_up_with_a_project(page, server.url)
            sent = _history(server, key)
            trends = page.url.replace("/settings", "/trends")

            page.goto(trends)
            page.get_by_label("Series A event").fill("$pageview")
            page.get_by_label("Series A counted as").select_option("unique_users")
            page.get_by_label("Period").select_option("30d")
            page.get_by_label("Grouped by").select_option("day")
            page.get_by_label("Anomalies").check()
            page.get_by_role("button", name="Show trend").last.click()
            page.wait_for_url(re.compile(r"anomalies=1"))
            # The events are written a moment after they are accepted: ask again until all are counted.
            deadline = time.monotonic() + 60
            while not _chart(page).get("anomalies") and time.monotonic() < deadline:
                page.wait_for_timeout(300)
                page.reload()
            chart = _chart(page)
            assert sent > 150
            (anomaly,) = chart["anomalies"]
            assert anomaly["up"] and anomaly["at"] == len(chart["labels"]) - 1 - SPIKE_DAYS_AGO
            status = page.get_by_role("status").inner_text()
            assert status.startswith("1 anomaly (marked): ") and "Click a point" in status
            assert chart["band"]["lower"][-1] is None  # today, under way: no range to compare it with
            screenshot(page, "insights-1-band")
            assert_accessible(page, "trend with anomalies")
            assert_valid_html(page.content())

            # Click the marked point itself, where ECharts drew it.
            page.locator("[data-chart]").scroll_into_view_if_needed()
            x, y = page.evaluate(
                """at => {
                  const el = document.querySelector('[data-chart]');
                  const chart = echarts.getInstanceByDom(el);
                  const data = JSON.parse(el.getAttribute('data-chart'));
                  const [px, py] = chart.convertToPixel({seriesIndex: 0}, [at, data.anomalies[0].value]);
                  const box = el.getBoundingClientRect();
                  return [box.left + px, box.top + py];
                }""",
                anomaly["at"],
            )
            page.mouse.click(x, y)
            page.wait_for_url(re.compile(r"/why\?"))
            assert page.get_by_role("heading", level=1).inner_text() == "Why did it change?"
            causes = [li.inner_text() for li in page.locator("ol.causes li").all()]
            assert [c.split(" 0 → ")[0] for c in causes] == [
                "Channel: Organic Social",
                "Referrer: news.ycombinator.com",
            ]
            assert all("100 % of the change" in c for c in causes)
            referrers = page.get_by_role("region", name="Referrer")
            assert referrers.locator("tbody tr").first.inner_text().split("\t")[:4] == [
                "news.ycombinator.com",
                "0",
                "30",
                "+30",
            ]
            screenshot(page, "insights-2-why")
            assert_accessible(page, "why did it change")
            assert_valid_html(page.content())
            page.get_by_role("link", name="the period just before").click()
            page.wait_for_url(re.compile(r"baseline=previous_period"))
            assert "the period just before" in page.locator("p.hint strong").first.inner_text()

            page.emulate_media(color_scheme="dark")
            page.go_back()
            page.wait_for_url(lambda url: "baseline=" not in url)
            screenshot(page, "insights-3-why-dark")
            assert_accessible(page, "why did it change, dark")
            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than a phone
            screenshot(page, "insights-4-why-phone")
            page.goto(f"{trends}?event=%24pageview&math=unique_users&period=30d&interval=day&anomalies=1")
            _chart(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            screenshot(page, "insights-5-band-phone")

            # The overview's chart compared with its expected range: the same anomaly, named under it.
            page.set_viewport_size({"width": 1280, "height": 900})
            page.emulate_media(color_scheme="light")
            overview = trends.removesuffix("/trends")
            page.goto(f"{overview}?period=30d")
            compare = page.get_by_role("navigation", name="Compare the chart with")
            compare.get_by_role("link", name="Expected range").click()
            page.wait_for_url(re.compile(r"compare=expected"))
            drawn = _chart(page)
            assert drawn["anomalies"] == chart["anomalies"] and drawn["band"] == chart["band"]
            assert page.get_by_role("heading", name="Visitors against the expected range").count() == 1
            assert page.locator("p.band-note").inner_text().startswith("1 anomaly (marked): ")
            screenshot(page, "insights-6-overview-band")
            assert_accessible(page, "overview with the expected range")
            assert_valid_html(page.content())
            page.emulate_media(color_scheme="dark")
            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            _chart(page)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            screenshot(page, "insights-7-overview-band-dark-phone")
        assert watch.console_errors == []
        assert watch.external == []
    finally:
        server.stop()


def _regulars(server: Server, key: str) -> int:
    """Ten visitors this past week: two came on six days, the others once."""
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    batch: list[dict[str, Any]] = []
    for who, days in [("fan-1", range(1, 7)), ("fan-2", range(1, 7))] + [
        (f"once-{i}", [2]) for i in range(8)
    ]:
        for days_ago in days:
            batch.append(
                {
                    "type": "page",
                    "distinct_id": who,
                    "timestamp": (today - timedelta(days=days_ago)).isoformat(),
                    "context": {"page": {"url": "https://shop.example/"}, "user_agent": CHROME},
                }
            )
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as client:
        response = client.post("/api/v1/capture", json={"batch": batch})
        assert response.status_code == 202, response.text
    return len(batch)


def test_power_users_saved_as_a_cohort_and_used_as_a_filter(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", **FAST_AUTH).start()
    watch = Watch()
    try:
        with browser() as chromium:
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            watch.route(context)
            page = context.new_page()
            watch.attach(page)
            key = sign_up_with_a_project(page, server.url)
            _regulars(server, key)
            project = page.url.removesuffix("/settings")
            page.goto(f"{project}/patterns?period=-7d")
            power = page.get_by_role("region", name="Power users")
            deadline = time.monotonic() + 60
            while "2 of 10 active people" not in power.inner_text() and time.monotonic() < deadline:
                page.wait_for_timeout(300)
                page.reload()
            assert "2 of 10 active people (20.0 %)" in power.inner_text()
            assert [row.inner_text().split("\t")[0] for row in power.locator("tbody tr").all()] == [
                "fan-1",
                "fan-2",
            ]
            screenshot(page, "cohorts-1-patterns")
            assert_accessible(page, "patterns")
            assert_valid_html(page.content())
            power.get_by_label("Cohort name").fill("Fans")
            power.get_by_role("button", name="Save as cohort").click()
            page.wait_for_url(re.compile(r"/cohorts$"))
            row = page.locator("tbody tr", has_text="Fans")
            row.locator("td.num", has_text="2").wait_for(timeout=20_000)  # computed in the background
            assert "Power users, last 7 days" in row.inner_text()
            screenshot(page, "cohorts-2-list")
            assert_accessible(page, "cohorts")
            assert_valid_html(page.content())
            row.get_by_role("link", name="Filter by it").click()
            page.wait_for_url(re.compile(r"f=cohort"))
            filters = page.get_by_role("list", name="Active filters").inner_text()
            assert re.search(r"Cohort is Fans \(no\. \d+\)", filters)
            page.get_by_role("navigation", name="Period").get_by_role("link", name="7 days").click()
            page.wait_for_url(re.compile(r"period=7d"))
            assert re.search(
                r"Cohort is Fans \(no\. \d+\)", page.get_by_role("list", name="Active filters").inner_text()
            )
            assert page.locator('[data-kpi="visitors"]').first.inner_text() == "2"
            screenshot(page, "cohorts-3-overview-filtered")
            page.emulate_media(color_scheme="dark")
            page.goto(f"{project}/cohorts")
            screenshot(page, "cohorts-4-list-dark")
            assert_accessible(page, "cohorts, dark")
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(f"{project}/patterns?period=-7d")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            screenshot(page, "cohorts-5-patterns-phone")
            page.goto(f"{project}/cohorts")
            screenshot(page, "cohorts-6-list-phone")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert watch.console_errors == []
        assert watch.external == []
    finally:
        server.stop()


def test_the_feed_shows_the_demo_s_press_mention(tmp_path: Path) -> None:
    """The demo's AI Chat was written about the day before yesterday: the feed, read from the pages, finds the
    surge of visitors, the article's site as a mover and as a new referrer; a finding is pinned, another
    dismissed, and the evidence opens the chart that shows it."""
    data = tmp_path / "data"
    loaded = cli(data, "demo", "--events", "60000", "--no-serve", timeout=300, **FAST_AUTH)
    assert loaded.returncode == 0, loaded.stderr
    password = loaded.stdout.split("with password ")[1].split()[0]
    server = Server(data, **FAST_AUTH).start()
    watch = Watch()
    try:
        with browser() as chromium:
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            watch.route(context)
            page = context.new_page()
            watch.attach(page)
            page.goto(f"{server.url}/login")
            page.get_by_label("Email").fill("demo@belvedere.local")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(re.compile(r"/app/projects/\d+"))
            page.goto(f"{server.url}/app/projects/2/feed")
            page.get_by_role("button", name="Read yesterday again now").click()
            page.wait_for_url(re.compile(r"asked=1"))
            deadline = time.monotonic() + 60
            while page.locator("li.finding").count() < 4 and time.monotonic() < deadline:
                page.wait_for_timeout(500)
                page.reload()
            titles = [h.inner_text() for h in page.locator("li.finding h2").all()]
            assert any(t.startswith("Visitors on ") and "above the expected" in t for t in titles), titles
            assert "New referrer: theverge.example sent" in " ".join(titles)
            assert any(
                t.startswith("Visitors from referrer theverge.example rose from 0 to ") for t in titles
            )
            screenshot(page, "feed-1-demo")
            assert_accessible(page, "feed")
            assert_valid_html(page.content())
            referrer = page.locator("li.finding", has_text="New referrer")
            referrer.get_by_role("button", name="Pin").click()
            page.locator("li.finding").first.filter(has_text="pinned").wait_for()
            assert page.locator("li.finding h2").first.inner_text().startswith("New referrer")
            movers = page.locator("li.finding", has_text="Visitors from channel")
            if movers.count():  # the week's channel movers, as many as the demo's randomness made
                title = movers.first.locator("h2").inner_text()
                movers.first.get_by_role("button", name="Dismiss").click()
                page.locator("li.finding", has_text=title).wait_for(state="detached")
            anomaly = page.locator("li.finding", has_text="Visitors on ").first
            anomaly.get_by_role("link", name="Open the evidence").click()
            page.wait_for_url(re.compile(r"/trends\?.*anomalies=1"))
            assert _chart(page).get("anomalies")
            page.emulate_media(color_scheme="dark")
            page.goto(f"{server.url}/app/projects/2/feed")
            screenshot(page, "feed-2-demo-dark")
            assert_accessible(page, "feed, dark")
            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            screenshot(page, "feed-3-demo-phone")
        assert watch.console_errors == []
        assert watch.external == []
    finally:
        server.stop()
