"""In a real browser: the account page — a new name, two-factor authentication set up from the QR code's
key, login with the password and then a code (and once with a recovery code, from another device), and that
other device's session signed out from the list. Screenshots in light, dark and phone widths."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from tests.e2e.browser_kit import Watch, assert_accessible, assert_valid_html, browser, screenshot
from tests.e2e.server_kit import FAST_AUTH, Server
from tests.e2e.test_web_onboarding import DESKTOP_UA

pytestmark = pytest.mark.slow

EMAIL, PASSWORD = "ada@example.test", "a long and unusual passphrase 42"
PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1"
)


def _collect_html(page: Any, server: Server, served: list[str]) -> None:
    page.on(
        "response",
        lambda r: (
            r.url.startswith(server.url)
            and r.headers.get("content-type", "").startswith("text/html")
            and served.append(r.text())
        ),
    )


def _log_in(page: Any, server: Server, code: str) -> None:
    """Both steps of the login form: the password, then the code it asks for."""
    page.goto(f"{server.url}/login?next=/app/account")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Enter your code").wait_for()
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/app/account$"))


def test_account_page_two_factor_and_sessions(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", **FAST_AUTH).start()
    watch = Watch()
    served: list[str] = []
    try:
        with browser() as chromium:
            context = chromium.new_context(viewport={"width": 1280, "height": 900}, user_agent=DESKTOP_UA)
            watch.route(context)
            page = context.new_page()
            watch.attach(page)
            _collect_html(page, server, served)

            page.goto(f"{server.url}/signup")
            page.get_by_label("Your name").fill("Ada")
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_label("Organisation").fill("Analytical Engines")
            page.get_by_role("button", name="Create account").click()
            page.wait_for_url(re.compile(r"/app/orgs/\d+/projects/new$"))

            # From any page of the app, the header leads to the account.
            page.locator("header.top").get_by_role("link", name="Account").click()
            page.wait_for_url(re.compile(r"/app/account$"))
            page.get_by_role("heading", name="Your account").wait_for()
            assert_accessible(page, "account")

            # A new name.
            page.get_by_label("Display name").fill("Ada Lovelace")
            page.get_by_role("button", name="Save name").click()
            page.get_by_text("Name saved.").wait_for()
            assert page.get_by_label("Display name").input_value() == "Ada Lovelace"

            # Two-factor authentication: the key under the QR code goes into the "app" (pyotp here).
            page.locator("#tf-password").fill(PASSWORD)
            page.get_by_role("button", name="Set up two-factor authentication").click()
            page.locator("#totp-secret").wait_for()
            assert page.get_by_role("img", name=re.compile("QR code")).locator("svg").count() == 1
            screenshot(page, "account-enrol")
            assert_accessible(page, "account: enrolment")
            totp = pyotp.TOTP(page.locator("#totp-secret").inner_text().replace(" ", ""))
            page.get_by_label("Type the 6-digit code the app shows").fill(totp.now())
            page.get_by_role("button", name="Turn on").click()
            page.locator("#recovery-codes").wait_for()
            codes = page.locator("#recovery-codes").inner_text().split()
            assert len(codes) == 10
            assert page.locator("#totp-secret").count() == 0  # the key is never shown again
            screenshot(page, "account-recovery-codes")
            assert_accessible(page, "account: recovery codes")

            # Log out, and in again: the password, then the code.
            page.locator("header.top").get_by_role("button", name="Log out").click()
            page.wait_for_url(re.compile(r"/login$"))
            page.get_by_label("Email").fill(EMAIL)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("heading", name="Enter your code").wait_for()
            screenshot(page, "account-login-code")
            assert_accessible(page, "login code")
            page.get_by_label("Code").fill("000000")
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("alert").get_by_text("That code is not right").wait_for()
            # The enrolment spent the current time step; the app's next code is good (clocks drift).
            page.get_by_label("Code").fill(totp.at(time.time() + 30))
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(re.compile(r"/app(/|$)"))

            # Another device signs in once with a recovery code.
            phone = chromium.new_context(viewport={"width": 390, "height": 844}, user_agent=PHONE_UA)
            watch.route(phone)
            other = phone.new_page()
            watch.attach(other)
            _log_in(other, server, codes[0])
            other.get_by_role("heading", name="Your account").wait_for()
            assert "Recovery codes left: 9" in other.get_by_text("Recovery codes left").inner_text()

            # The sessions: this one marked, the phone's signed out from here.
            page.goto(f"{server.url}/app/account")
            sessions = page.get_by_role("table", name="Sessions")
            rows = sessions.locator("tbody tr")
            assert rows.count() == 2
            assert "This session" in rows.nth(0).inner_text()  # listed first
            assert "Chrome on Linux" in rows.nth(0).inner_text()
            assert "Mobile Safari on iOS" in rows.nth(1).inner_text()
            screenshot(page, "account-light")
            page.emulate_media(color_scheme="dark")
            screenshot(page, "account-dark")
            assert_accessible(page, "account (dark)")
            page.emulate_media(color_scheme="light")
            page.set_viewport_size({"width": 390, "height": 844})
            page.reload()
            screenshot(page, "account-phone")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.set_viewport_size({"width": 1280, "height": 900})
            page.reload()

            sessions.get_by_role("button", name=re.compile(r"^Sign out Mobile Safari on iOS")).click()
            page.get_by_text("Session signed out.").wait_for()
            assert page.get_by_role("table", name="Sessions").locator("tbody tr").count() == 1
            other.reload()
            other.wait_for_url(re.compile(r"/login\?next="))  # the phone is signed out

            # The code is asked for at every login: a recovery code used once does not work twice.
            other.get_by_label("Email").fill(EMAIL)
            other.get_by_label("Password").fill(PASSWORD)
            other.get_by_role("button", name="Log in").click()
            other.get_by_label("Code").fill(codes[0])
            other.get_by_role("button", name="Log in").click()
            other.get_by_role("alert").get_by_text("was used already").wait_for()
            screenshot(other, "account-login-code-phone")

        assert len(served) >= 6
        for html in served:
            assert_valid_html(html)
    finally:
        server.stop()
    assert watch.external == []
    # The browser notes each refused code's answer (401); nothing else may reach the console.
    refused = [e for e in watch.console_errors if "status of 401" in e]
    assert len(refused) == 2
    assert [e for e in watch.console_errors if e not in refused] == []
