"""In a real browser: the funnel page with a few people's events sent through the capture API — an
exclusion, a breakdown, conversion over time, the time to convert, and a count clicked through to the people
behind it and to one of them; in light, dark and phone widths, accessible and valid."""

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

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
# Who does what (minutes after their first page view), and in which browser.
JOURNEYS: dict[str, tuple[str, int, list[tuple[str, int]]]] = {
    "ann": (CHROME, 4, [("signup", 5), ("purchase", 10)]),
    "bob": (FIREFOX, 4, [("signup", 60), ("coupon_error", 90), ("purchase", 120)]),  # excluded
    "cy": (CHROME, 3, [("signup", 2), ("purchase", 24 * 60)]),
    "dee": (FIREFOX, 3, []),
    "eve": (CHROME, 2, [("signup", 1)]),
}


def _capture(server: Server, key: str) -> int:
    """Each journey through the capture API, at explicit times some days ago."""
    base = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    sent = 0
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as client:
        for who, (agent, days_ago, steps) in JOURNEYS.items():
            start = base - timedelta(days=days_ago)
            events: list[dict[str, Any]] = [
                {"event": "$pageview", "properties": {"$current_url": "https://shop.example/"}, "at": start}
            ]
            events += [{"event": name, "at": start + timedelta(minutes=m)} for name, m in steps]
            for e in events:
                body = {
                    "event": e["event"],
                    "distinct_id": who,
                    "timestamp": e.pop("at").isoformat(),
                    "properties": e.get("properties", {}),
                    "context": {"user_agent": agent, "ip": "81.2.69.160"},
                }
                response = client.post("/api/v1/capture", json=body)
                assert response.status_code == 202, response.text
                sent += 1
    return sent


def _column(page: Any, table: str, n: int) -> list[str]:
    return [c.inner_text().strip() for c in page.locator(f"{table} tbody tr td:nth-child({n})").all()]


def _charts_drawn(page: Any, count: int) -> None:
    page.locator("[data-chart-ready] svg").nth(count - 1).wait_for()


def test_a_funnel_with_an_exclusion_a_breakdown_and_the_people_behind_a_count(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", **FAST_AUTH).start()
    watch = Watch()
    try:
        with browser() as chromium:
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            watch.route(context)
            page = context.new_page()
            watch.attach(page)
            key = sign_up_with_a_project(page, server.url)
            sent = _capture(server, key)
            funnels = page.url.replace("/settings", "/funnels")

            # Build it in the page: three steps, bob's coupon error excluded between sign-up and purchase,
            # split by browser.
            page.goto(funnels)
            page.get_by_label("Step 1 event").fill("$pageview")
            page.get_by_label("Step 2 event").fill("signup")
            page.get_by_role("button", name="+ Add step").click()
            page.get_by_label("Step 3 event").fill("purchase")
            page.get_by_label("Exclude event").fill("coupon_error")
            page.get_by_label("after step").select_option("2")
            page.get_by_label("and before step").select_option("3")
            page.get_by_label("Breakdown by", exact=True).select_option("browser")
            deadline = time.monotonic() + 60
            page.get_by_role("button", name="Show funnel", exact=True).last.click()
            page.wait_for_url(re.compile(r"exclude=coupon_error"))
            # The events are written a moment after they are accepted: ask again until all are counted.
            while _column(page, ".funnel-steps", 2) != ["5", "4", "2"] and time.monotonic() < deadline:
                page.wait_for_timeout(300)
                page.reload()
            assert sent == 13
            assert _column(page, ".funnel-steps", 2) == ["5", "4", "2"]
            assert _column(page, ".funnel-steps", 5) == ["\u2013", "1", "2"]  # dee; bob (excluded) and eve
            by_browser = page.get_by_role("region", name="Breakdown by Browser")
            assert [r.inner_text().split("\t") for r in by_browser.locator("tbody tr").all()] == [
                ["Chrome", "3", "3", "2", "66.7%"],
                ["Firefox", "2", "1", "0", "0.0%"],
            ]
            _charts_drawn(page, 3)  # the steps, conversion over time, the time to convert
            assert "4 of 5 people" not in page.content()
            assert page.get_by_text("2 of 5 people converted").count() == 1
            # What goes with converting: loaded after the funnel (bob bought: exclusions do not apply there);
            # five people are too few to tell.
            drivers = page.locator("#drivers")
            drivers.wait_for()
            said = " ".join(drivers.inner_text().split())
            assert "Of the 5 people who did $pageview in the period, 3 (60.0 %) also did purchase" in said
            assert "too few to tell" in said
            screenshot(page, "funnel-1-steps")
            assert_accessible(page, "funnel")
            assert_valid_html(page.content())

            # The dropped-off count of the last step lists who dropped off; each links to the person.
            page.get_by_role("link", name="2 dropped off before step 3").click()
            page.wait_for_url(re.compile(r"people_status=dropped"))
            people = page.get_by_role("region", name=re.compile("Dropped off before step 3: purchase"))
            assert [a.inner_text() for a in people.locator("li a").all()] == ["bob", "eve"]
            assert "2 people" in people.inner_text()
            screenshot(page, "funnel-2-dropped")
            assert_accessible(page, "funnel people")
            assert_valid_html(page.content())
            page.get_by_role("link", name="2 reached step 3").click()
            page.wait_for_url(re.compile(r"people_status=converted"))
            reached = page.get_by_role("region", name=re.compile("Reached step 3: purchase"))
            assert [a.inner_text() for a in reached.locator("li a").all()] == ["ann", "cy"]
            assert "after 1.0 days" in reached.inner_text()  # cy bought a day after the first page view
            reached.get_by_role("link", name="cy").click()
            page.wait_for_url(re.compile(r"/person\?id=cy$"))
            assert page.get_by_role("heading", level=1).inner_text() == "cy"
            screenshot(page, "funnel-3-person")
            page.go_back()
            page.get_by_role("region", name=re.compile("Reached step 3: purchase")).wait_for()

            page.emulate_media(color_scheme="dark")
            _charts_drawn(page, 3)
            page.reload()
            _charts_drawn(page, 3)
            screenshot(page, "funnel-4-dark")
            assert_accessible(page, "funnel dark")
            page.emulate_media(color_scheme="light")

            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            _charts_drawn(page, 3)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than a phone
            screenshot(page, "funnel-5-phone")
            page.set_viewport_size({"width": 1280, "height": 900})

            # Saved as an insight, it keeps its exclusion and breakdown, and reopens in the builder.
            page.get_by_role("link", name="Close the list").click()
            # The list closes by a navigation: fill the form of the page it lands on, not the one it leaves.
            page.wait_for_url(lambda url: "people_status" not in url)
            page.get_by_role("region", name=re.compile("Reached step 3")).wait_for(state="detached")
            page.get_by_label("Save this funnel as").fill("Checkout")
            page.get_by_role("button", name="Save funnel").click()
            page.wait_for_url(re.compile(r"/insights/\d+$"))
            page.locator(".widget-body tbody tr").first.wait_for()
            assert _column(page, ".widget-body", 2) == ["5", "4", "2"]
            page.get_by_role("link", name="Open in the funnel builder").click()
            page.wait_for_url(re.compile(r"/funnels\?"))
            assert page.get_by_label("Exclude event").first.input_value() == "coupon_error"
            assert page.get_by_label("Breakdown by", exact=True).input_value() == "browser"
            assert _column(page, ".funnel-steps", 2) == ["5", "4", "2"]
        assert watch.console_errors == []
        assert watch.external == []
    finally:
        server.stop()
