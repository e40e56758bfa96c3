"""The account page's use cases through HTTP, on SQLite and PostgreSQL: name, email change (through a real
SMTP server), password, two-factor authentication at login (web and API) and on the page, and sessions —
with the attacks each must withstand."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import select
from tests.integration.accounts.kit import fast_settings
from tests.integration.accounts.test_auth import (
    STRONG,
    bearer,
    log_kinds,
    login,
    outbox,
    signup,
    token_in,
)
from tests.integration.accounts.test_auth_races import WHERE, at_once, kinds
from tests.integration.capture_kit import Running, form_token, running
from tests.integration.mail_kit import Inbox, smtp_server

from belvedere.auth.models import LoginSession, RecoveryCode, SecondFactor
from belvedere.platform.db import transaction

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def app(tmp_path: Path, metadata_url: str) -> Iterator[Running]:
    with running(fast_settings(tmp_path, database_url=metadata_url)) as r:
        yield r


class Browser:
    """The test client as one person's browser: a cookie session and its CSRF token, as the pages send it."""

    def __init__(self, app: Running, email: str = "ada@example.test", password: str = STRONG) -> None:
        self.app = app
        opened = login(app, email=email, password=password, cookie=True)
        assert opened.status_code == 200, opened.text
        self.csrf = opened.json()["csrf_token"]

    def get(self, path: str = "/app/account") -> Any:
        return self.app.client.get(path, headers={"User-Agent": FIREFOX})

    def post(self, path: str, **form: str) -> Any:
        headers = {"X-CSRF-Token": self.csrf, "User-Agent": FIREFOX}
        return self.app.client.post(f"/app/account{path}", data=form, headers=headers, follow_redirects=False)


def code_for(secret: str, steps_ahead: int = 0) -> str:
    """The authenticator's code now, or for a later time step (the server accepts the next one too)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def enrol(browser: Browser) -> tuple[str, list[str]]:
    """Turn two-factor authentication on from the page: the secret it shows and the recovery codes."""
    started = browser.post("/two-factor", password=STRONG)
    assert started.status_code == 200, started.text
    shown = re.search(r'id="totp-secret" class="secret">([A-Z2-7 ]+)</code>', started.text)
    assert shown and "<svg" in started.text
    secret = shown.group(1).replace(" ", "")
    confirmed = browser.post("/two-factor/confirm", code=code_for(secret))
    assert confirmed.status_code == 200, confirmed.text
    codes = re.findall(r"\b[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}\b", confirmed.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def pending(app: Running, email: str = "ada@example.test") -> str:
    answer = login(app, email=email)
    assert answer.status_code == 200 and answer.json()["second_factor_required"] is True, answer.text
    assert "access_token" not in answer.json() and "refresh_token" not in answer.json()
    token: str = answer.json()["pending_token"]
    return token


def second_step(app: Running, token: str, code: str) -> Any:
    return app.client.post("/api/v1/auth/login/code", json={"pending_token": token, "code": code})


def test_enrolment_shows_the_secret_once_and_keeps_it_sealed(app: Running) -> None:
    org_id = signup(app)["organisation"]["id"]
    browser = Browser(app)
    secret, codes = enrol(browser)
    with transaction(app.runtime.sessions) as s:
        stored = s.scalars(select(SecondFactor.secret)).one()
        hashes = list(s.scalars(select(RecoveryCode.code_hash)))
    assert secret not in stored and len(stored) > 100  # encrypted, not the secret
    assert len(hashes) == 10 and not {c.replace("-", "") for c in codes} & set(hashes)
    again = browser.get()
    assert (
        secret not in again.text
        and codes[0] not in again.text
        and "Recovery codes left: <strong>10" in (again.text)
    )
    # Enrolling anew while it is on is refused: the secret cannot be shown again that way.
    refused = browser.post("/two-factor", password=STRONG)
    assert refused.status_code == 409 and "turn it off first" in refused.text
    assert "two_factor_enabled" in log_kinds(app, org_id)


def test_a_wrong_code_does_not_confirm_the_enrolment(app: Running) -> None:
    signup(app)
    browser = Browser(app)
    assert browser.post("/two-factor", password="not the password").status_code == 403
    started = browser.post("/two-factor", password=STRONG)
    assert started.status_code == 200
    wrong = browser.post("/two-factor/confirm", code="000000")
    assert wrong.status_code == 403 and "type its current 6-digit code" in wrong.text
    assert 'id="totp-secret"' in wrong.text  # still pending: the key stays on the page
    assert login(app).json().get("access_token")  # not on: the password alone still signs in


def test_login_asks_for_the_code_and_each_code_works_once(app: Running) -> None:
    org_id = signup(app)["organisation"]["id"]
    browser = Browser(app)
    secret, codes = enrol(browser)
    token = pending(app)
    # The pending token is no session: not as a bearer token, not as a refresh token.
    assert app.client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert app.client.post("/api/v1/auth/refresh", json={"refresh_token": token}).status_code in (401, 422)
    wrong = second_step(app, token, "123456")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_credentials"
    code = code_for(secret, 1)  # the enrolment spent the current step
    signed_in = second_step(app, token, code)
    assert signed_in.status_code == 200, signed_in.text
    assert app.client.get("/api/v1/me", headers=bearer(signed_in.json()["access_token"])).status_code == 200
    replayed = second_step(app, pending(app), code)  # the same code, seen over a shoulder
    assert replayed.status_code == 401 and "used already" in replayed.json()["error"]["message"]
    # A recovery code works once, dashes and case as the person types them.
    assert second_step(app, pending(app), codes[0].upper().replace("-", " ")).status_code == 200
    assert second_step(app, pending(app), codes[0]).status_code == 401
    kinds = log_kinds(app, org_id)
    assert {"two_factor_enabled", "login_code_failed", "recovery_code_used"} <= set(kinds)
    assert "Recovery codes left: <strong>9" in browser.get().text


def test_guessing_codes_is_throttled(app: Running) -> None:
    org_id = signup(app)["organisation"]["id"]
    secret, _ = enrol(Browser(app))
    token = pending(app)
    limit = app.runtime.settings.auth.code_attempts
    for _ in range(limit):
        assert second_step(app, token, "000000").status_code == 401
    # The budget is spent: even the right code waits, whatever pending token carries it.
    throttled = second_step(app, pending(app), code_for(secret, 1))
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert throttled.json()["error"]["code"] == "too_many_attempts"
    assert "login_throttled" in log_kinds(app, org_id)


def test_a_pending_login_expires_with_a_password_change(app: Running) -> None:
    signup(app)
    secret, _ = enrol(Browser(app))
    token = pending(app)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert second_step(app, forged, code_for(secret, 1)).json()["error"]["code"] == "login_expired"
    session = login_with_code(app, secret)
    changed = app.client.post(
        "/api/v1/auth/password",
        json={"current_password": STRONG, "new_password": "another long passphrase 43"},
        headers=bearer(session),
    )
    assert changed.status_code == 200
    late = second_step(app, token, code_for(secret, 1))
    assert late.status_code == 401 and late.json()["error"]["code"] == "login_expired"


def login_with_code(app: Running, secret: str) -> str:
    """Sign in through both steps with the next step's code (the current one may be spent)."""
    answer = second_step(app, pending(app), code_for(secret, 1))
    if answer.status_code == 401:  # that step was spent too: wait for the next one
        time.sleep(30 - time.time() % 30 + 0.5)
        answer = second_step(app, pending(app), code_for(secret, 1))
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def test_the_web_login_asks_for_the_code_and_cannot_be_skipped(app: Running) -> None:
    signup(app)
    _, codes = enrol(Browser(app))
    app.client.cookies.clear()
    page = app.client.get("/login")
    answer = app.client.post(
        "/login",
        data={"email": "ada@example.test", "password": STRONG, "form_token": form_token(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 200 and "Enter your code" in answer.text
    assert not app.client.cookies.get("bv_access")  # no session yet
    hidden = re.search(r'name="pending" value="([^"]+)"', answer.text)
    assert hidden
    # Straight to the app with what the first step gave: still signed out.
    assert app.client.get("/app/account", follow_redirects=False).status_code == 303
    fields = {"pending": hidden.group(1), "form_token": form_token(answer.text), "next": "/app/account"}
    wrong = app.client.post("/login/code", data={**fields, "code": "999999"}, follow_redirects=False)
    assert wrong.status_code == 401 and "not right" in wrong.text
    done = app.client.post("/login/code", data={**fields, "code": codes[3]}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/app/account"
    assert app.client.get("/app/account").status_code == 200


def test_recovery_codes_are_replaced_and_two_factor_turned_off(app: Running) -> None:
    signup(app)
    browser = Browser(app)
    secret, old = enrol(browser)
    fresh = browser.post("/two-factor/recovery-codes", code=code_for(secret, 1))
    assert fresh.status_code == 200, fresh.text
    new = re.findall(r"\b[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}\b", fresh.text)
    assert len(new) == 10 and not set(new) & set(old)
    assert second_step(app, pending(app), old[0]).status_code == 401
    # Turning it off takes the password and a code.
    no_code = browser.post("/two-factor/disable", password=STRONG, code="111111")
    assert no_code.status_code == 403
    no_password = browser.post("/two-factor/disable", password="wrong one entirely", code=new[0])
    assert no_password.status_code == 403 and "current password is wrong" in no_password.text
    off = browser.post("/two-factor/disable", password=STRONG, code=new[1])
    assert off.status_code == 200 and "is off" in off.text
    assert login(app).json().get("access_token")
    with transaction(app.runtime.sessions) as s:
        assert s.scalars(select(RecoveryCode)).all() == [] and s.scalars(select(SecondFactor)).all() == []


def test_sessions_are_listed_and_revoked_but_never_another_accounts(app: Running) -> None:
    signup(app)
    signup(app, "bob@example.test", "Bob Co")
    phone = login(app, password=STRONG).json()  # another device of Ada's, through the API
    app.client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    bob = login(app, email="bob@example.test").json()
    browser = Browser(app)
    listed = browser.get()
    assert listed.text.count("This session") == 1
    with transaction(app.runtime.sessions) as s:
        rows = {r.family: r for r in s.scalars(select(LoginSession))}
    phone_family = app.runtime.auth.tokens.verify(phone["access_token"]).family
    bob_family = app.runtime.auth.tokens.verify(bob["access_token"]).family
    phone_id, bob_id = rows[phone_family].id, rows[bob_family].id
    assert f"/app/account/sessions/{phone_id}/revoke" in listed.text
    assert f"/app/account/sessions/{bob_id}/revoke" not in listed.text
    # Bob's session, asked for by Ada: not found, and Bob stays signed in.
    theirs = browser.post(f"/sessions/{bob_id}/revoke")
    assert theirs.status_code == 404 and "No such session" in theirs.text
    assert app.client.get("/api/v1/me", headers=bearer(bob["access_token"])).status_code == 200
    revoked = browser.post(f"/sessions/{phone_id}/revoke")
    assert revoked.status_code == 200 and "Session signed out." in revoked.text
    assert app.client.get("/api/v1/me", headers=bearer(phone["access_token"])).status_code == 401
    assert browser.get().status_code == 200  # this one goes on


def test_signing_out_every_other_session(app: Running) -> None:
    signup(app)
    others = [login(app).json() for _ in range(2)]
    browser = Browser(app)
    answer = browser.post("/sessions/revoke-others")
    assert answer.status_code == 200 and "Signed out 3 other sessions." in answer.text  # and the sign-up's
    for other in others:
        assert app.client.get("/api/v1/me", headers=bearer(other["access_token"])).status_code == 401
        refreshed = app.client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})
        assert refreshed.status_code == 401
    assert browser.get().status_code == 200


def test_the_device_and_times_of_a_session(app: Running) -> None:
    signup(app)
    app.client.post(
        "/api/v1/auth/login",
        json={"email": "ada@example.test", "password": STRONG},
        headers={"User-Agent": IPHONE},
    )
    page = Browser(app).get()
    assert "Mobile Safari on iOS" in page.text and "just now" in page.text


def test_a_password_change_signs_out_the_other_sessions_only(app: Running) -> None:
    signup(app)
    other = login(app).json()
    browser = Browser(app)
    wrong = browser.post("/password", current_password="not it at all", new_password="x" * 12)
    assert wrong.status_code == 403 and "Type the password you log in with." in wrong.text
    weak = browser.post("/password", current_password=STRONG, new_password="password1234")
    assert weak.status_code == 422 and "breached" in weak.text
    done = browser.post("/password", current_password=STRONG, new_password="another long passphrase 43")
    assert done.status_code == 303 and done.headers["location"] == "/app/account?done=password"
    assert app.client.get("/api/v1/me", headers=bearer(other["access_token"])).status_code == 401
    browser.csrf = app.client.cookies["bv_csrf"]
    again = browser.get("/app/account?done=password")
    assert again.status_code == 200 and "Your other sessions were signed out" in again.text
    assert browser.post("/name", name="Ada L.").status_code == 200  # the new session's CSRF token works


def test_the_name_changes(app: Running) -> None:
    created = signup(app)
    browser = Browser(app)
    answer = browser.post("/name", name="  Ada   Lovelace ")
    assert answer.status_code == 200 and "Name saved." in answer.text
    me = app.client.get("/api/v1/me", headers=bearer(created["access_token"])).json()
    assert me["user"]["name"] == "Ada Lovelace"
    forged = app.client.post("/app/account/name", data={"name": "Mallory"}, follow_redirects=False)
    assert forged.status_code in (303, 403)  # no CSRF token: refused
    assert app.client.get("/api/v1/me", headers=bearer(created["access_token"])).json()["user"]["name"] == (
        "Ada Lovelace"
    )


@pytest.fixture
def mailed(tmp_path: Path, metadata_url: str) -> Iterator[tuple[Running, Inbox]]:
    with smtp_server() as (inbox, port):
        mail = {"smtp_host": "127.0.0.1", "smtp_port": port, "sender": "Belvedere <noreply@example.test>"}
        with running(fast_settings(tmp_path, database_url=metadata_url, mail=mail)) as r:
            yield r, inbox


def test_the_email_changes_when_the_link_sent_to_it_is_opened(mailed: tuple[Running, Inbox]) -> None:
    app, inbox = mailed
    org_id = signup(app)["organisation"]["id"]
    signup(app, "bob@example.test", "Bob Co")
    browser = Browser(app)
    wrong = browser.post("/email", email="ada@new.example", password="not the password")
    assert wrong.status_code == 403 and inbox.to("ada@new.example") == []
    taken = browser.post("/email", email="BOB@example.test", password=STRONG)
    assert taken.status_code == 409 and "Another account uses this address" in taken.text
    asked = browser.post("/email", email="Ada@New.example", password=STRONG)
    assert asked.status_code == 200 and "We sent a link to ada@new.example" in asked.text
    assert "Waiting for confirmation" in asked.text
    (mail,) = inbox.to("ada@new.example")
    assert mail["Subject"] == "Confirm your new email for Belvedere"
    link = re.search(r"/verify-email\?token=(\S+)", mail.get_payload(decode=True).decode())
    assert link
    # Until the link is opened, nothing changes.
    assert login(app).status_code == 200 and login(app, email="ada@new.example").status_code == 401
    page = app.client.get(f"/verify-email?token={link.group(1)}")
    opened = app.client.post(
        "/verify-email", data={"token": link.group(1), "form_token": form_token(page.text)}
    )
    assert opened.status_code == 200 and "ada@new.example is confirmed" in opened.text
    assert login(app, email="ada@new.example").status_code == 200
    assert login(app).status_code == 401
    (told,) = [m for m in inbox.to("ada@example.test") if m["Subject"] == "Your Belvedere email was changed"]
    assert "now uses ada@new.example" in told.get_payload(decode=True).decode()
    # The link works once.
    again = app.client.post("/api/v1/auth/verify", json={"token": link.group(1)})
    assert again.status_code == 400
    assert {"email_change_requested", "email_changed"} <= set(log_kinds(app, org_id))


def test_the_same_use_cases_through_the_api(app: Running) -> None:
    created = signup(app)
    auth = bearer(created["access_token"])
    bob = bearer(signup(app, "bob@example.test", "Bob Co")["access_token"])
    assert app.client.patch("/api/v1/me", json={"name": "Ada L."}, headers=auth).json() == {"name": "Ada L."}
    assert (
        app.client.post("/api/v1/me/two-factor", json={"password": "wrong!"}, headers=auth).status_code == 403
    )
    started = app.client.post("/api/v1/me/two-factor", json={"password": STRONG}, headers=auth)
    assert started.status_code == 201 and started.json()["otpauth_uri"].startswith("otpauth://totp/")
    secret = started.json()["secret"]
    state = app.client.get("/api/v1/me/two-factor", headers=auth).json()
    assert state == {"enabled": False, "enrolment_pending": True, "recovery_codes_left": 0}
    confirmed = app.client.post(
        "/api/v1/me/two-factor/confirm", json={"code": code_for(secret)}, headers=auth
    )
    assert confirmed.status_code == 200 and len(confirmed.json()["recovery_codes"]) == 10
    assert app.client.get("/api/v1/me/two-factor", headers=auth).json()["enabled"] is True
    # Sessions: listed with the caller's marked; another account's cannot be ended.
    mine = app.client.get("/api/v1/me/sessions", headers=auth).json()["results"]
    assert [s["current"] for s in mine] == [True]
    theirs = app.client.get("/api/v1/me/sessions", headers=bob).json()["results"][0]["id"]
    refused = app.client.delete(f"/api/v1/me/sessions/{theirs}", headers=auth)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert app.client.get("/api/v1/me", headers=bob).status_code == 200
    phone = second_step(app, pending(app), confirmed.json()["recovery_codes"][0]).json()
    ended = app.client.delete("/api/v1/me/sessions", headers=auth)
    assert ended.json() == {"revoked": 1}
    assert app.client.get("/api/v1/me", headers=bearer(phone["access_token"])).status_code == 401
    off = app.client.post(
        "/api/v1/me/two-factor/disable",
        json={"password": STRONG, "code": confirmed.json()["recovery_codes"][1]},
        headers=auth,
    )
    assert off.status_code == 204 and login(app).json().get("access_token")


def test_one_code_sent_by_several_requests_at_once_opens_one_session(app: Running) -> None:
    """A code seen once (over a shoulder, in a proxy's log) and replayed at the same instant as the real
    login: the conditional update of the last step lets exactly one through."""
    signup(app)
    secret, _ = enrol(Browser(app))
    code = code_for(secret, 1)
    tokens = [pending(app) for _ in range(4)]
    runtime = app.runtime

    def attempt(i: int) -> object:
        with transaction(runtime.sessions) as session:
            return runtime.auth.complete_login(session, pending_token=tokens[i], code=code, where=WHERE)

    outcome = kinds(at_once(4, attempt))
    assert outcome == {"TokenPair": 1, "AuthFailed": 3}, outcome


def test_only_the_newest_email_change_stands(app: Running) -> None:
    signup(app)
    browser = Browser(app)
    for address in ("ada@first.example", "ada@second.example"):
        assert browser.post("/email", email=address, password=STRONG).status_code == 200
    assert "ada@second.example" in browser.get().text and "ada@first.example" not in browser.get().text
    (first,), (second,) = outbox(app, "ada@first.example"), outbox(app, "ada@second.example")
    assert app.client.post("/api/v1/auth/verify", json={"token": token_in(first)}).status_code == 400
    moved = app.client.post("/api/v1/auth/verify", json={"token": token_in(second)})
    assert moved.status_code == 200 and moved.json()["email"] == "ada@second.example"
