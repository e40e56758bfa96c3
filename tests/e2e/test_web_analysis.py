"""In a real browser, with a few people's events sent through the capture API: the filter menu, goals saved
in the settings and chosen on the overview (a conversion column in the panels), the trend builder (two
series, a formula, a number, a breakdown as a pie, saved and reopened), lifecycle, usage, the SQL editor
and the events explorer down to a person — each page in light, dark and phone widths, accessible, valid."""

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
from tests.e2e.server_kit import FAST_AUTH, Server

pytestmark = pytest.mark.slow

SETTINGS = {**FAST_AUTH, "BELVEDERE_AUTH__SIGNUP_PLAN": "unlimited"}  # the SQL editor is in the plan
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
# Who reads which pages, in which browser, and what they buy.
PEOPLE: dict[str, tuple[str, list[str], float | None]] = {
    "ann": (FIREFOX, ["/", "/blog/one", "/blog/two"], None),
    "bob": (CHROME, ["/", "/blog/one"], None),
    "cat": (CHROME, ["/", "/pricing"], 40.0),
    "dan": (FIREFOX, ["/pricing"], 9.5),
}


def _capture(server: Server, key: str) -> int:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    sent = 0
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as client:
        for who, (agent, paths, revenue) in PEOPLE.items():
            events: list[dict[str, Any]] = [
                {"event": "$pageview", "properties": {"$current_url": f"https://shop.example{p}"}}
                for p in paths
            ]
            if revenue is not None:
                events.append({"event": "purchase", "properties": {"revenue": revenue, "plan": "pro"}})
            for i, e in enumerate(events):
                body = {
                    **e,
                    "distinct_id": who,
                    "timestamp": (start + timedelta(minutes=i)).isoformat(),
                    "context": {"user_agent": agent, "ip": "81.2.69.160"},
                }
                response = client.post("/api/v1/capture", json=body)
                assert response.status_code == 202, response.text
                sent += 1
    return sent


def _three_ways(page: Any, name: str, ready: str) -> None:
    """The page in light, dark and phone widths (``ready``: a selector shown once it is drawn), checked by axe
    in both themes and never wider than a phone's screen."""
    page.locator(ready).first.wait_for()
    screenshot(page, f"{name}-light")
    assert_accessible(page, name)
    assert_valid_html(page.content())
    page.emulate_media(color_scheme="dark")
    page.reload()
    page.locator(ready).first.wait_for()
    screenshot(page, f"{name}-dark")
    assert_accessible(page, f"{name} (dark)")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator(ready).first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{name} is wider than a phone"
    screenshot(page, f"{name}-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    page.locator(ready).first.wait_for()


def _figures(page: Any) -> list[tuple[str, str]]:
    cards = page.locator(".kpis .kpi").all()
    return [(c.locator("h3").inner_text(), c.locator(".value").inner_text()) for c in cards]


def test_any_question_from_the_pages(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", **SETTINGS).start()
    watch = Watch()
    try:
        with browser() as chromium:
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            watch.route(context)
            page = context.new_page()
            watch.attach(page)
            key = sign_up_with_a_project(page, server.url)
            settings = page.url
            overview = settings.removesuffix("/settings")
            sent = _capture(server, key)

            # Goals, saved in the settings: a page pattern and a revenue event.
            page.get_by_label("Goal", exact=True).select_option("page")
            page.get_by_label("Event name or page").fill("/blog/*")
            page.get_by_label("Name (optional)").fill("Read the blog")
            page.get_by_role("button", name="Add goal").click()
            page.get_by_text("Goal added").wait_for()
            page.get_by_label("Goal", exact=True).select_option("revenue")
            page.get_by_label("Event name or page").fill("purchase")
            page.get_by_label("Name (optional)").fill("Purchases")
            page.get_by_role("button", name="Add goal").click()
            page.get_by_role("list", name="The project's goals").get_by_text("Purchases").wait_for()
            _three_ways(page, "goals-settings", "#goals-title")

            # The overview once every event is stored.
            page.goto(overview + "?period=7d")
            deadline = time.monotonic() + 60
            while page.locator('[data-kpi="pageviews"]').count() == 0 or page.locator(
                '[data-kpi="pageviews"]'
            ).inner_text() != str(sent - 2):
                assert time.monotonic() < deadline, "the events were not all stored in time"
                page.wait_for_timeout(300)
                page.reload()
            assert page.locator('[data-kpi="revenue"]').inner_text() == "$49.50"

            # The filter menu: any field, any condition, into the URL; removed from its chip.
            page.get_by_text("Add a filter").click()
            page.get_by_label("Field").fill("path")
            page.get_by_label("Condition").select_option("contains")
            page.get_by_label("Value").fill("blog")
            page.get_by_role("button", name="Add filter").click()
            page.wait_for_url(re.compile(r"f=path%7Ccontains%7Cblog"))
            assert page.locator('[data-kpi="pageviews"]').inner_text() == "3"
            page.get_by_role("link", name="Remove the filter Page contains blog").click()
            page.wait_for_url(lambda url: "contains" not in url)

            # A goal chosen in the goals panel: its rate, and a conversion column in every panel.
            goals = page.locator("section.panel").filter(has=page.get_by_role("link", name="Read the blog"))
            assert "50.0%" in goals.get_by_role("row", name=re.compile("Read the blog")).inner_text()
            assert "$49.50" in goals.get_by_role("row", name=re.compile("Purchases")).inner_text()
            goals.get_by_role("link", name="Read the blog").click()
            page.wait_for_url(re.compile(r"goal=Read\+the\+blog"))
            assert page.locator('[data-kpi="conversion"]').inner_text() == "50.0%"
            pages_panel = page.locator("section.panel").first
            pages_panel.get_by_role("columnheader", name="CR").wait_for()
            assert "100.0%" in pages_panel.get_by_role("row", name=re.compile(r"\/blog\/one")).inner_text()
            _three_ways(page, "overview-goal", "section.panel .goals")

            # The trend builder: people who viewed a page and people who bought, and the share who bought.
            page.get_by_role("link", name="Trends").first.click()
            page.locator("[data-chart-ready] svg").first.wait_for()  # people per day, at once
            page.get_by_label("Series A event").fill("$pageview")
            page.get_by_label("Series A counted as").select_option("unique_users")
            page.get_by_role("button", name="+ Add series").click()
            page.get_by_label("Series B event").fill("purchase")
            page.get_by_label("Series B counted as").select_option("unique_users")
            page.get_by_label("Formula").fill("B / A * 100")
            page.get_by_label("Show as").select_option("number")
            page.get_by_label("Period").select_option("7d")
            page.get_by_role("button", name="Show trend", exact=True).last.click()
            page.wait_for_url(re.compile(r"display=number"))
            assert _figures(page) == [
                ("Page view (people)", "4"),
                ("purchase (people)", "2"),
                ("B / A * 100", "50"),
            ]
            _three_ways(page, "trends-number", ".kpis .kpi")
            page.get_by_label("Break down by").fill("browser")
            page.get_by_label("Show as").select_option("pie")
            page.get_by_role("button", name="Show trend", exact=True).last.click()
            page.wait_for_url(re.compile(r"display=pie"))
            _three_ways(page, "trends-pie", "[data-chart-ready] svg")
            page.get_by_label("Save this trend as").fill("Buyers by browser")
            page.get_by_role("button", name="Save trend").click()
            page.wait_for_url(re.compile(r"/insights/\d+$"))
            page.get_by_role("link", name="Open in the trend builder").click()
            page.wait_for_url(re.compile(r"/trends\?"))
            assert page.get_by_label("Series B event").input_value() == "purchase"
            assert page.get_by_label("Formula").input_value() == "B / A * 100"

            # Lifecycle and usage beside it, and the SQL editor.
            page.get_by_role("navigation", name="Analyses").get_by_role("link", name="Lifecycle").click()
            page.wait_for_url(re.compile(r"/lifecycle"))  # the trend builder has a Period too
            page.get_by_label("Period").select_option("7d")
            page.get_by_role("button", name="Show lifecycle").click()
            page.wait_for_url(re.compile(r"/lifecycle\?"))
            new = page.get_by_role("row", name=re.compile(r"^New"))
            assert sum(int(x) for x in re.findall(r"\d+", new.inner_text())) == 4
            _three_ways(page, "lifecycle", "[data-chart-ready] svg")
            page.get_by_role("navigation", name="Analyses").get_by_role("link", name="Stickiness").click()
            _three_ways(page, "stickiness", "[data-chart-ready] svg")
            page.get_by_role("navigation", name="Analyses").get_by_role("link", name="Usage").click()
            _three_ways(page, "usage", "table")
            page.get_by_role("navigation", name="Analyses").get_by_role("link", name="SQL").click()
            page.get_by_label("Query", exact=True).fill(
                "SELECT path, count(*) AS views FROM events WHERE event = '$pageview'"
                " GROUP BY path ORDER BY views DESC, path"
            )
            page.get_by_role("button", name="Run query").click()
            page.get_by_role("heading", name="4 rows").wait_for()
            first = page.locator("table tbody tr").first.inner_text().split("\t")
            assert first == ["/", "3"]
            _three_ways(page, "sql", "table")

            # The events explorer: the latest events with their properties, down to a person.
            page.get_by_role("link", name="Events").first.click()
            rows = page.locator("table.events tbody tr")
            rows.first.wait_for()
            assert rows.count() == sent
            purchase = rows.filter(has_text="purchase").first
            assert "plan" in purchase.inner_text() and "pro" in purchase.inner_text()
            _three_ways(page, "events", "table.events")
            page.locator("table.events tbody tr").filter(has_text="purchase").first.get_by_role(
                "link", name="cat"
            ).click()
            page.get_by_role("heading", name="Recent activity").wait_for()
            assert "purchase" in page.get_by_role("region", name="Recent activity").inner_text()
            _three_ways(page, "person", "#main")

            # Every other page of a project, in the three widths too.
            others = {
                "realtime": "[data-chart-ready] svg",
                "retention": "table.heatmap",
                "paths": "[data-chart-ready] svg",
                "users": "table",
                "insights": "main h1",
                "dashboards": "main h1",
                "details/page?period=7d": "table",
            }
            for path, ready in others.items():
                page.goto(f"{overview}/{path}")
                _three_ways(page, path.split("?")[0].replace("/", "-"), ready)
            page.goto(settings.split("/app/")[0] + "/app/account")
            _three_ways(page, "account", "main h1")
            page.get_by_role("link", name="Organisation").first.click()
            _three_ways(page, "organisation", "main h1")

            assert watch.console_errors == []
            assert watch.external == []
    finally:
        server.kill()
