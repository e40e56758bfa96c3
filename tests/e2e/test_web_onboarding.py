"""In a real browser: sign up, create a project, install the tracker on another site, see the visit arrive
and the overview count it — with no console error and no request leaving the machine."""

from __future__ import annotations

import gzip
import re
from datetime import date
from pathlib import Path

import httpx
import pytest
from tests.e2e.browser_kit import (
    Watch,
    assert_accessible,
    assert_valid_html,
    browser,
    screenshot,
    static_site,
)
from tests.e2e.server_kit import FAST_AUTH, Server

pytestmark = pytest.mark.slow


DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
SITE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop home</title>
<script defer src="{server}/js/belvedere.js" data-key="{key}"></script>
<script defer src="site.js"></script></head>
<body>
<h1>Shop</h1>
<button id="spa" type="button">Go to pricing (single-page app)</button>
<button id="buy" type="button" data-belvedere-event="clicked_buy" data-belvedere-prop-plan="pro">Buy</button>
<a id="out" href="https://example.org/partner">Partner</a>
<a id="file" href="/files/brochure.pdf">Brochure</a>
</body></html>
"""
SITE_JS = """
document.getElementById("spa").addEventListener("click", function () {
  history.pushState({}, "", "/pricing");
});
document.getElementById("out").addEventListener("click", function (e) { e.preventDefault(); });
document.getElementById("file").addEventListener("click", function (e) { e.preventDefault(); });
"""


def test_the_tracker_is_small() -> None:
    script = (Path(__file__).resolve().parents[2] / "src/belvedere/web/static/belvedere.js").read_bytes()
    assert len(gzip.compress(script, 9)) <= 2048


def test_sign_up_install_and_see_the_first_visit(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", **FAST_AUTH).start()
    watch = Watch()
    try:
        with browser() as chromium:
            # A visitor's browser, not a headless one: Belvedere drops headless browsers as bots.
            context = chromium.new_context(viewport={"width": 1280, "height": 900}, user_agent=DESKTOP_UA)
            watch.route(context)
            page = context.new_page()
            watch.attach(page)

            served: list[str] = []
            page.on(
                "response",
                lambda r: (
                    r.url.startswith(server.url)
                    and r.headers.get("content-type", "").startswith("text/html")
                    and served.append(r.text())
                ),
            )
            page.goto(f"{server.url}/signup")
            screenshot(page, "01-signup")
            assert_accessible(page, "sign-up")
            page.get_by_label("Your name").fill("Ada")
            page.get_by_label("Email").fill("ada@example.test")
            page.get_by_label("Password").fill("a long and unusual passphrase 42")
            page.get_by_label("Organisation").fill("Analytical Engines")
            page.get_by_role("button", name="Create account").click()

            page.wait_for_url(re.compile(r"/app/orgs/\d+/projects/new$"))
            screenshot(page, "02-new-project")
            page.get_by_label("Name").fill("Shop")
            page.get_by_role("button", name="Create project").click()

            page.wait_for_url(re.compile(r"/app/projects/\d+/settings$"))
            waiting = page.get_by_role("status")
            assert "Waiting for the first event" in waiting.inner_text()
            screenshot(page, "03-snippet-waiting")
            assert_accessible(page, "settings")
            snippet = page.locator("#snippet").inner_text()
            key = re.search(r'data-key="(bw_[^"]+)"', snippet)
            assert key and f'src="{server.url}/js/belvedere.js"' in snippet

            site_root = tmp_path / "site"
            site_root.mkdir()
            (site_root / "index.html").write_text(SITE.format(server=server.url, key=key.group(1)))
            (site_root / "site.js").write_text(SITE_JS)
            with static_site(site_root) as site:
                visitor = context.new_page()
                watch.attach(visitor)
                visitor.goto(f"{site}/index.html")
                visitor.wait_for_function("window.belvedere !== undefined")
                visitor.click("#spa")
                visitor.click("#buy")
                visitor.click("#out")
                visitor.click("#file")
                visitor.wait_for_timeout(300)
                visitor.close()  # a page left open in the background slows every later action on this one

            # The settings page polls until the first event is stored, then turns green.
            page.get_by_text("Events are arriving").wait_for(timeout=15_000)
            screenshot(page, "04-snippet-seen")

            page.get_by_role("link", name="Open the overview").click()
            page.wait_for_url(re.compile(r"/app/projects/\d+$"))
            overview_url = page.url
            assert page.locator('[data-kpi="visitors"]').inner_text() == "1"
            assert page.locator('[data-kpi="pageviews"]').inner_text() == "2"  # index and the SPA's /pricing
            # Breakdown panels load after the page, each with its loading state, then switch tabs in place.
            page.get_by_role("link", name="/index.html").wait_for()
            page.get_by_role("link", name="/pricing").wait_for()
            page.get_by_role("tab", name="Browsers").click()
            page.get_by_role("link", name="Chrome").wait_for()
            assert page.get_by_role("tab", name="Browsers").get_attribute("aria-selected") == "true"
            # Every panel's tabs stand on one line, at this width and at 1440 px.
            for width in (1280, 1440):
                page.set_viewport_size({"width": width, "height": 900})
                overflowing = page.locator(".tabs").evaluate_all(
                    "tabs => tabs.filter(t => t.scrollWidth > t.clientWidth).map(t => t.textContent.trim())"
                )
                assert overflowing == [], (width, overflowing)
            page.set_viewport_size({"width": 1280, "height": 900})
            page.get_by_role("tab", name="Map").click()  # the world map's shapes load on first use
            page.locator('.map[data-chart-ready="true"] svg path').first.wait_for()
            page.locator("[data-chart-ready] svg").first.wait_for()
            chart_box = page.locator(".chart").first.bounding_box()
            assert chart_box is not None
            page.mouse.move(
                chart_box["x"] + chart_box["width"] - 30, chart_box["y"] + chart_box["height"] / 2
            )
            page.wait_for_timeout(
                200
            )  # a tooltip shows, drawn within the chart (the CSP allows no inline style)
            screenshot(page, "05-overview")
            assert_accessible(page, "overview")
            page.emulate_media(color_scheme="dark")  # the system's dark theme
            screenshot(page, "05b-overview-dark")
            page.emulate_media(color_scheme="light")
            page.set_viewport_size({"width": 390, "height": 844})  # a phone
            page.reload()
            page.get_by_role("link", name="/pricing").wait_for()
            # Nothing is wider than the screen.
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            screenshot(page, "05c-overview-phone")
            # On a phone the project's pages sit behind a Menu button rather than filling four lines.
            header = page.locator("header.top")
            assert header.get_by_role("link", name="Realtime").is_hidden()
            header.get_by_role("button", name="Menu").click()
            header.get_by_role("link", name="Realtime").wait_for()
            assert header.get_by_role("button", name="Menu").get_attribute("aria-expanded") == "true"
            screenshot(page, "05c2-menu-phone")
            header.get_by_role("button", name="Menu").click()
            page.set_viewport_size({"width": 1280, "height": 900})
            page.reload()
            page.get_by_role("link", name="/pricing").wait_for()

            # Clicking a row filters the whole page; the filter lives in the URL and can be removed.
            page.get_by_role("link", name="/pricing").click()
            page.wait_for_url(re.compile(r"path=%2Fpricing"))
            assert page.locator('[data-kpi="pageviews"]').inner_text() == "1"
            assert page.get_by_role("list", name="Active filters").inner_text().startswith("Page is /pricing")
            screenshot(page, "06-overview-filtered")
            page.get_by_role("link", name="Remove the filter Page is /pricing").click()
            # Waits run in Playwright's own world: a string evaluated in the page would break its CSP.
            page.wait_for_url(lambda url: "path=" not in url)
            assert page.locator('[data-kpi="pageviews"]').inner_text() == "2"
            page.locator("[data-chart-ready] svg").first.wait_for()  # the page is fully set up

            # The week under way: its line stops at now, the stretch into today dashed; compared with
            # the same days last year (dashed too), the figures' changes say against which dates.
            page.get_by_role("navigation", name="Compare the chart with").get_by_role(
                "link", name="Same period last year"
            ).click()
            page.wait_for_url(re.compile(r"compare=year"))
            page.locator("[data-chart-ready] svg").first.wait_for()
            assert "against the same period last year" in page.locator("#chart-title").inner_text()
            assert page.locator(".chart svg path[stroke-dasharray]").count() >= 2
            # A year ago, from the first day's midnight until this time of day on today's date then.
            span = re.compile(r"^Changes are against \d+ \w+ 00:00 \u2013 \d+ \w+ \d{4} \d\d:\d\d\.$")
            assert page.get_by_text(span).count() == 1
            # The goals panel: people, events and conversion of each event, not page views.
            goals = page.get_by_role("region", name="Events")
            goals.get_by_role("link", name="clicked_buy").wait_for()
            assert goals.locator("thead").inner_text().split() == ["Event", "People", "Events", "Rate"]
            screenshot(page, "05d-overview-last-year")
            page.emulate_media(color_scheme="dark")
            screenshot(page, "05e-overview-last-year-dark")
            page.emulate_media(color_scheme="light")
            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            page.locator("[data-chart-ready] svg").first.wait_for()
            goals.get_by_role("link", name="clicked_buy").wait_for()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            screenshot(page, "05f-overview-last-year-phone")
            page.set_viewport_size({"width": 1280, "height": 900})
            page.get_by_role("navigation", name="Compare the chart with").get_by_role(
                "link", name="Nothing"
            ).click()
            page.wait_for_url(lambda url: "compare=" not in url)
            page.locator("[data-chart-ready] svg").first.wait_for()

            # A note on a day, drawn on the chart and listed under it.
            page.locator("summary", has_text="Custom range, goal, notes").click()
            page.get_by_label("Note a day").fill(date.today().isoformat())
            page.get_by_label("Note", exact=False).last.fill("Shop opened")
            page.get_by_role("button", name="Add note").click()
            page.get_by_role("list", name="Notes on these days").get_by_text("Shop opened").wait_for()
            page.locator("[data-chart-ready] svg").first.wait_for()
            assert page.locator(".chart svg").first.get_by_text("Shop opened").count() == 1

            # A panel's details: every value, searchable, and as CSV.
            page.get_by_role("link", name="Details: every page, search, CSV").click()
            page.wait_for_url(re.compile(r"/details/page\?"))
            assert page.get_by_role("table").locator("tbody tr").count() == 2
            page.get_by_role("searchbox", name="Search").fill("pric")
            page.get_by_role("button", name="Search").click()
            page.wait_for_url(re.compile(r"q=pric"))
            assert page.get_by_role("table").locator("tbody tr").all_inner_texts()[0].startswith("/pricing")
            screenshot(page, "06b-details")
            assert_accessible(page, "details")
            page.get_by_role("link", name="Back to the overview").click()
            page.wait_for_url(lambda url: "/details/" not in url)
            page.locator("[data-chart-ready] svg").first.wait_for()

            # Keyboard only: the skip link comes first, then the page's controls in order.
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.textContent") == "Skip to content"
            page.keyboard.press("Enter")
            assert page.evaluate("document.activeElement.id") == "main"
            for _ in range(4):  # Today, Yesterday, 7 days, 30 days
                page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.textContent.trim()") == "30 days"
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"period=30d"))
            assert page.locator('[data-kpi="visitors"]').inner_text() == "1"
            # …and on to a row of a breakdown panel, which Enter follows to filter the page.
            page.get_by_role("link", name="/pricing").wait_for()
            for _ in range(60):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.textContent.trim()") == "/pricing":
                    break
            assert page.evaluate("document.activeElement.textContent.trim()") == "/pricing"
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"path=%2Fpricing"))

            # Realtime: live figures, and new events streamed in without a reload.
            page.get_by_role("link", name="Realtime").click()
            page.wait_for_url(re.compile(r"/realtime$"))
            assert page.locator('[data-kpi="active"]').inner_text() == "1"
            page.locator(".stream li", has_text="/pricing").first.wait_for()
            httpx.post(
                f"{server.url}/api/v1/capture",
                json={
                    "api_key": key.group(1),
                    "event": "live_check",
                    "context": {"page": {"url": "https://shop.example/live"}, "user_agent": DESKTOP_UA},
                },
            ).raise_for_status()
            page.locator(".stream li", has_text="live_check").wait_for(timeout=15_000)
            page.locator("[data-chart-ready] svg").first.wait_for()  # events per minute
            screenshot(page, "07-realtime")
            assert_accessible(page, "realtime")

            # Organisation settings: plan usage, members, an invitation, a personal key shown once.
            page.get_by_role("link", name="Organisation").click()
            projects = page.get_by_role("table", name="Projects")
            projects.get_by_role("link", name="Shop").wait_for()  # with the events it stored this month
            assert projects.locator("tbody td.num").first.inner_text() == "6"
            page.get_by_label("Email").fill("grace@example.test")
            page.get_by_role("button", name="Send invitation").click()
            page.get_by_text("Invitation sent to grace@example.test").wait_for()
            page.get_by_label("Label").fill("exports")
            page.get_by_role("button", name="Create key").click()
            page.locator("#new-key").wait_for()
            assert page.locator("#new-key").inner_text().startswith("bp_")
            screenshot(page, "08-organisation")
            assert_accessible(page, "organisation")

            # A funnel from the home page to the tagged Buy button, built in the page and saved.
            page.goto(overview_url)
            page.get_by_role("link", name="Funnels").click()
            page.get_by_label("Step 1 event").fill("$pageview")
            assert page.get_by_label("Step 1 where").input_value() == "path"  # the page, unless changed
            page.get_by_label("Step 1 is").fill("/index.html")
            page.get_by_label("Step 2 event").fill("clicked_buy")
            page.get_by_role("button", name="Show funnel", exact=True).last.click()
            page.wait_for_url(re.compile(r"step=clicked_buy"))
            funnel = page.get_by_role("region", name="Conversion")
            assert [c.inner_text() for c in funnel.locator("tbody tr td:nth-child(2)").all()] == ["1", "1"]
            page.locator("[data-chart-ready] svg").first.wait_for()
            screenshot(page, "09-funnel")
            assert_accessible(page, "funnels")
            page.get_by_label("Save this funnel as").fill("Home to buy")
            page.get_by_role("button", name="Save funnel").click()
            page.wait_for_url(re.compile(r"/insights/\d+$"))
            page.locator(".widget-body tbody tr").first.wait_for()

            # Retention and paths answer on their own defaults (any event; each visit's first page).
            page.get_by_role("link", name="Retention").click()
            cohorts = page.get_by_role("region", name="Share of each cohort coming back")
            cohorts.locator("tbody tr").first.wait_for()
            screenshot(page, "09b-retention")
            assert_accessible(page, "retention")
            page.get_by_role("link", name="Paths").click()
            page.locator("[data-chart-ready] svg").first.wait_for()
            screenshot(page, "09c-paths")
            assert_accessible(page, "paths")
            page.get_by_role("link", name="People").click()
            page.get_by_role("region", name="1 person active in this period").locator("tbody a").first.click()
            page.get_by_role("heading", name="Recent activity").wait_for()
            assert "clicked_buy" in page.get_by_role("region", name="Recent activity").inner_text()
            screenshot(page, "09d-person")
            assert_accessible(page, "person")

            # A dashboard with that funnel on it, shared by link and opened logged out, then embedded.
            page.get_by_role("link", name="Dashboards").click()
            page.get_by_label("New dashboard").fill("Launch")
            page.get_by_role("button", name="Create dashboard").click()
            page.wait_for_url(re.compile(r"/dashboards/\d+$"))
            page.get_by_role("button", name="Add", exact=True).click()
            page.locator(".widget [data-chart-ready] svg").wait_for()
            # A second copy of the widget, then drag the second onto the first: the order is saved.
            page.get_by_role("button", name="Add", exact=True).click()
            page.locator(".widget").nth(1).locator("[data-chart-ready] svg").wait_for()
            before = page.locator(".widget").evaluate_all("els => els.map(e => e.dataset.widgetId)")
            with page.expect_response(lambda r: r.url.endswith("/arrange") and r.status == 204):
                page.locator(".widget").nth(1).drag_to(page.locator(".widget").nth(0))
            page.reload()
            after = page.locator(".widget").evaluate_all("els => els.map(e => e.dataset.widgetId)")
            assert after == list(reversed(before))
            page.once("dialog", lambda dialog: dialog.accept())  # "Remove … from this dashboard?"
            page.get_by_role("button", name=re.compile("^Remove Home to buy")).first.click()
            page.locator(".widget").nth(1).wait_for(state="detached")
            page.wait_for_load_state()
            page.get_by_role("button", name="Create a public link").click()
            page.locator("#share-url").wait_for()
            share_url = page.locator("#share-url").inner_text().strip()
            page.locator(".widget [data-chart-ready] svg").wait_for()
            screenshot(page, "10-dashboard")
            assert_accessible(page, "dashboard")
            stranger = chromium.new_context(viewport={"width": 390, "height": 844}, user_agent=DESKTOP_UA)
            watch.route(stranger)
            shared = stranger.new_page()
            watch.attach(shared)
            shared.goto(share_url)
            shared.locator(".widget [data-chart-ready] svg").wait_for()
            assert shared.locator(".widget h2").inner_text() == "Home to buy"
            assert shared.get_by_role("button", name="Log out").count() == 0
            screenshot(shared, "11-shared-phone")
            assert_accessible(shared, "shared dashboard")
            (site_root / "embed.html").write_text(
                f'<!doctype html><title>Embed</title><iframe src="{share_url}?embed=1" width="900"'
                ' height="700" title="Launch"></iframe>'
            )
            with static_site(site_root) as site:
                shared.goto(f"{site}/embed.html")
                shared.frame_locator("iframe").locator(".widget tbody tr").first.wait_for()
                screenshot(shared, "12-shared-embedded")
        assert len(served) >= 6
        for html in served:
            assert_valid_html(html)
    finally:
        server.stop()
    bodies = "".join(c["body"] or "" for c in watch.captured)
    for event in ("clicked_buy", "$outbound_link", "$file_download", '"plan":"pro"'):
        assert event in bodies, event
    assert len(watch.captured) == 5  # two page views, the tagged button, the outbound link, the download
    assert watch.external == []
    assert watch.console_errors == []


def test_opt_out_and_do_not_track_send_nothing(tmp_path: Path) -> None:
    with static_site(tmp_path) as site, browser() as chromium:
        (tmp_path / "index.html").write_text(SITE.format(server=site, key="bw_test"))
        (tmp_path / "site.js").write_text(SITE_JS)
        (tmp_path / "js").mkdir()
        script = Path(__file__).resolve().parents[2] / "src/belvedere/web/static/belvedere.js"
        (tmp_path / "js" / "belvedere.js").write_bytes(script.read_bytes())
        for init in (
            "window.belvedereOptOut = true",
            "Object.defineProperty(navigator, 'doNotTrack', {get: () => '1'})",
        ):
            context = chromium.new_context()
            watch = Watch()
            watch.route(context)
            context.add_init_script(init)
            page = context.new_page()
            watch.attach(page)
            page.goto(f"{site}/index.html")
            page.wait_for_function("window.belvedere !== undefined")
            page.click("#buy")
            page.wait_for_timeout(200)
            assert watch.captured == [], init
            assert page.evaluate("document.cookie") == ""
            assert page.evaluate("localStorage.length") == 0
            context.close()
