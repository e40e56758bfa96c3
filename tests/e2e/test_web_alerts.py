"""In a real browser, against a real server and a real SMTP server: an email channel added and tested, a
rule created from a template after its preview marked where it would have fired, events that breach it,
the rule firing in the web app (list, detail, the bell) and by email, acknowledged, then resolved — every
page in light, dark and phone widths, accessible and valid."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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
from tests.integration.mail_kit import smtp_server
from tests.waiting import eventually

from belvedere.alerts.buckets import last_complete

pytestmark = pytest.mark.slow

OPS = "ops@example.test"


def _capture(server: Server, key: str, events: list[tuple[str, datetime]]) -> None:
    """Events through the capture API at chosen instants (``timestamp`` in milliseconds)."""
    batch = [
        {"event": name, "distinct_id": f"tenant-{i}", "timestamp": int(at.timestamp() * 1000)}
        for i, (name, at) in enumerate(events)
    ]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as client:
        answer = client.post("/api/v1/capture", json={"batch": batch})
        assert answer.status_code == 202 and answer.json()["accepted"] == len(events), answer.text


def _yesterday(timezone: str) -> tuple[datetime, datetime]:
    """The newest complete day in the project's zone: what a day rule's "Evaluate now" reads. Started a
    few minutes before midnight, the walk waits for the new day rather than straddle it."""
    tz = ZoneInfo(timezone)
    now = datetime.now(UTC)
    day = last_complete("day", tz, now)
    if day[1] + timedelta(days=1) - now < timedelta(minutes=4):
        time.sleep((day[1] + timedelta(days=1) - now).total_seconds() + 1)
        day = last_complete("day", tz, datetime.now(UTC))
    return day


def _mails(inbox: Any, subject: str) -> list[Message]:
    return [m for m in inbox.to(OPS) if str(m["Subject"]).startswith(subject)]


def _check(page: Any, name: str, chart: bool = False) -> None:
    """Screenshot, axe and HTML validity of the page as it stands."""
    if chart:
        page.locator("[data-chart-ready] svg").first.wait_for()
    screenshot(page, name)
    assert_accessible(page, name)
    assert_valid_html(page.content())


def _preview_says(page: Any, text: str) -> None:
    page.wait_for_function(
        "t => document.querySelector('#preview .preview-summary')?.innerText.includes(t)", arg=text
    )


def _three_ways(page: Any, url: str, name: str, chart: bool = False) -> None:
    """The page in dark, then at a phone's width (nothing wider than the screen), then back to light."""
    page.emulate_media(color_scheme="dark")
    page.goto(url)
    _check(page, f"{name}-dark", chart)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    if chart:
        page.locator("[data-chart-ready] svg").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{name} overflows a phone"
    screenshot(page, f"{name}-phone")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_an_alert_from_a_template_fires_mails_is_acknowledged_and_resolves(tmp_path: Path) -> None:
    started = time.monotonic()
    with smtp_server() as (inbox, smtp_port):
        server = Server(
            tmp_path / "data",
            **FAST_AUTH,
            BELVEDERE_MAIL__SMTP_HOST="127.0.0.1",
            BELVEDERE_MAIL__SMTP_PORT=str(smtp_port),
            BELVEDERE_OUTBOUND__ALLOW_PRIVATE_NETWORKS="true",
            BELVEDERE_JOBS__POLL_SECONDS="0.1",
        ).start()
        watch = Watch()
        try:
            with browser() as chromium:
                context = chromium.new_context(viewport={"width": 1280, "height": 900})
                watch.route(context)
                page = context.new_page()
                watch.attach(page)
                key = sign_up_with_a_project(page, server.url)
                project = int(re.findall(r"/projects/(\d+)/", page.url)[0])
                timezone = page.locator("#timezone").input_value()
                alerts = f"{server.url}/app/projects/{project}/alerts"

                # Overdue payments: two yesterday (the newest complete day), one five days before.
                day = _yesterday(timezone)
                _capture(
                    server,
                    key,
                    [
                        ("payment_overdue", day[0] + timedelta(hours=9)),
                        ("payment_overdue", day[0] + timedelta(hours=15)),
                        ("payment_overdue", day[0] - timedelta(days=4) + timedelta(hours=11)),
                        ("$pageview", day[0] + timedelta(hours=10)),
                    ],
                )

                # The Alerts page, empty: what alerts are, and the templates.
                page.get_by_role("link", name="Alerts", exact=True).click()
                page.wait_for_url(alerts)
                page.get_by_role("heading", name="No alert yet").wait_for()
                _check(page, "alerts-1-empty")

                # An email channel, and its test message, followed until it is sent.
                page.get_by_role("link", name=re.compile("Notification channels")).click()
                page.get_by_label("Kind").select_option("email")
                page.get_by_label("Name", exact=True).fill("Ops")
                page.get_by_label("Addresses").fill(OPS)
                assert page.get_by_label("URL").is_hidden()  # an email channel has no URL
                page.get_by_role("button", name="Add the channel").click()
                page.get_by_text("Channel 'Ops' added").wait_for()
                page.get_by_role("button", name="Send a test to Ops").click()
                page.get_by_text(re.compile(r"Test: Sent after 1 attempt")).wait_for(timeout=15_000)
                assert eventually(lambda: len(_mails(inbox, "Test from Belvedere")) == 1, timeout=10)
                _check(page, "alerts-2-channels")

                # The template's preview marks the two days it would have fired on (events are written a
                # moment after they are accepted: preview again until both are counted).
                page.goto(alerts)
                card = page.get_by_role("listitem").filter(
                    has=page.get_by_role("heading", name="Overdue payments (PropManager)")
                )
                assert card.get_by_label("Event").input_value() == "payment_overdue"
                assert card.get_by_label("Ops").is_checked()
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    card.get_by_role("button", name="Preview").click()
                    summary = card.locator(".preview-summary")
                    summary.wait_for()
                    if "Would have fired 2 times" in summary.inner_text():
                        break
                    page.wait_for_timeout(300)
                assert "Would have fired 2 times over the last 14 complete days" in summary.inner_text()
                card.locator("[data-chart-ready] svg").wait_for()
                chart = card.locator(".chart").inner_html()
                assert "Threshold (0)" in chart  # the threshold is drawn, and labelled
                assert chart.count("fires") == 2  # a marker on each day it would have fired
                card.scroll_into_view_if_needed()
                _check(page, "alerts-3-template-preview", chart=True)

                # Created in one click; evaluated now, it reads yesterday and fires.
                card.get_by_role("button", name="Create this rule").click()
                page.wait_for_url(re.compile(r"/alerts/\d+\?created=1$"))
                rule = int(re.findall(r"/alerts/(\d+)", page.url)[0])
                detail = f"{alerts}/{rule}"
                page.get_by_role("button", name="Evaluate now").click()
                heading = page.get_by_role("heading", level=1)
                heading.locator(".state-firing").wait_for()
                notice = page.get_by_role("status").first.inner_text()
                # The minute's tick may have read yesterday first: then the page says so.
                assert "Evaluated the day" in notice or "evaluated already" in notice, notice
                facts = page.locator(".facts").inner_text()
                assert "2" in facts and day[0].strftime("%-d %b %Y") in facts
                assert "OK \u2192 Firing" in page.locator("table").first.inner_text()
                _check(page, "alerts-4-firing", chart=True)

                # The email: "Firing: …" with the chart as a PNG part.
                assert eventually(lambda: len(_mails(inbox, "Firing: Overdue payments")) == 1, timeout=15)
                (mail,) = _mails(inbox, "Firing: Overdue payments")
                assert any(part.get_content_type() == "image/png" for part in mail.walk())

                # The list says it too, with the value and the day it belongs to; the bell counts it.
                page.goto(alerts)
                row = page.locator(".rules li").first
                assert row.locator(".state").inner_text() == "Firing"
                assert "2" in row.locator(".value").inner_text()
                assert day[0].strftime("%-d %b %Y") in row.inner_text()
                assert page.locator(".bell .count").inner_text().startswith("1")
                _check(page, "alerts-5-list-firing", chart=True)

                page.locator(".bell").click()
                page.wait_for_url(re.compile(r"/app/notifications$"))
                assert page.locator(".bell .count").count() == 0  # opened: read
                _check(page, "alerts-6-notifications")
                page.get_by_role("link", name="Firing: Overdue payments").click()
                page.wait_for_url(detail)

                # Acknowledged in the web app, then resolved as of tomorrow (today, without overdue
                # payments, complete by then) through the JSON API with the session's CSRF token.
                page.get_by_role("button", name="Acknowledge").click()
                heading.locator(".state-acknowledged").wait_for()
                assert "Firing \u2192 Acknowledged" in page.locator("table").first.inner_text()
                assert "Ada" in page.locator("table").first.inner_text()
                csrf = json.loads(page.locator("body").get_attribute("hx-headers") or "{}")["X-CSRF-Token"]
                answer = page.request.post(
                    f"{server.url}/api/v1/projects/{project}/alerts/{rule}/evaluate",
                    data={"at": (day[1] + timedelta(days=1, minutes=1)).isoformat()},
                    headers={"X-CSRF-Token": csrf},
                )
                assert answer.ok, answer.text()
                assert answer.json()["state"] == "resolved" and answer.json()["value"] == 0
                assert eventually(lambda: len(_mails(inbox, "Resolved: Overdue payments")) == 1, timeout=15)
                page.goto(detail)
                heading.locator(".state-resolved").wait_for()
                history = page.locator("table").first.inner_text()
                assert "Acknowledged \u2192 Resolved" in history
                # The mail is in the inbox a moment before its delivery is marked sent: read until it is.
                deadline = time.monotonic() + 15
                deliveries = page.locator("table").nth(1).inner_text()
                while deliveries.count("Sent") < 2 and time.monotonic() < deadline:
                    page.wait_for_timeout(300)
                    page.reload()
                    deliveries = page.locator("table").nth(1).inner_text()
                assert deliveries.count("Sent") == 2, deliveries
                _check(page, "alerts-7-resolved", chart=True)

                # The editor: the rule with its live preview, redrawn when the threshold changes.
                page.get_by_role("link", name="Edit", exact=True).click()
                preview = page.locator("#preview .preview-summary")
                preview.wait_for()
                assert "Would have fired 2 times" in preview.inner_text()
                page.get_by_label("Threshold", exact=True).fill("1")
                page.get_by_label("Threshold", exact=True).blur()
                _preview_says(page, "1 time ")
                page.get_by_label("Threshold", exact=True).fill("5")
                page.get_by_label("Threshold", exact=True).blur()
                _preview_says(page, "not have fired")
                page.get_by_label("Event", exact=False).first.fill("payment_overdu")
                page.get_by_role("button", name="Save the rule").click()
                refusal = page.get_by_text("received no 'payment_overdu' event")
                refusal.first.wait_for()
                page.locator("#preview .error").wait_for()  # the preview says why too, and draws nothing
                assert refusal.count() == 2
                _check(page, "alerts-8-editor-refused")

                for url, name, chart in (
                    (alerts, "alerts-list", True),
                    (detail, "alerts-detail", True),
                    (f"{detail}/edit", "alerts-editor", True),
                    (f"{alerts}/channels", "alerts-channels", False),
                    (f"{server.url}/app/notifications", "alerts-notifications", False),
                ):
                    _three_ways(page, url, name, chart)
            # The browser (and HTMX) note the refused save's answer (422); nothing else may reach the console.
            refused = [e for e in watch.console_errors if "422" in e]
            assert 1 <= len(refused) <= 2, watch.console_errors
            assert [e for e in watch.console_errors if e not in refused] == []
            assert watch.external == []
        finally:
            server.stop()
    print(f"walk took {time.monotonic() - started:.1f} s")
