"""Every authentication flow through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from sqlalchemy import select
from tests.integration.accounts.kit import PASSWORD, fast_settings
from tests.integration.capture_kit import Running, running
from tests.waiting import eventually

from belvedere.accounts.keys import hash_key
from belvedere.accounts.organisations import find_user
from belvedere.auth.models import RefreshToken, SecurityEvent
from belvedere.platform.db import transaction
from belvedere.platform.mail import OutboxEmail

STRONG = "a long and unusual passphrase 42"


@pytest.fixture
def app(tmp_path: Path, metadata_url: str) -> Iterator[Running]:
    with running(fast_settings(tmp_path, database_url=metadata_url)) as r:
        yield r


def signup(app: Running, email: str = "ada@example.test", org: str = "Analytical Engines") -> dict:
    response = app.client.post(
        "/api/v1/auth/signup", json={"email": email, "password": STRONG, "name": "Ada", "organisation": org}
    )
    assert response.status_code == 201, response.text
    return response.json()


def login(app: Running, email: str = "ada@example.test", password: str = STRONG, **extra: object):  # type: ignore[no-untyped-def]
    return app.client.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def outbox(app: Running, to: str) -> list[OutboxEmail]:
    with transaction(app.runtime.sessions) as s:
        return list(
            s.scalars(select(OutboxEmail).where(OutboxEmail.recipient == to).order_by(OutboxEmail.id))
        )


def token_in(mail: OutboxEmail) -> str:
    return mail.body.split("token=")[1].split()[0]


def log_kinds(app: Running, org_id: int) -> list[str]:
    with transaction(app.runtime.sessions) as s:
        rows = s.scalars(
            select(SecurityEvent.kind)
            .where(SecurityEvent.organisation_id == org_id)
            .order_by(SecurityEvent.id)
        )
        return list(rows)


def test_signup_creates_the_owner_and_logs_in(app: Running) -> None:
    created = signup(app)
    assert created["user"]["email"] == "ada@example.test" and not created["user"]["email_verified"]
    me = app.client.get("/api/v1/me", headers=bearer(created["access_token"])).json()
    assert [(o["id"], o["role"], o["plan"]) for o in me["organisations"]] == [
        (created["organisation"]["id"], "owner", "unlimited")
    ]
    assert created["refresh_token"].startswith("br_")
    # Stored hashed: neither the refresh token nor the password is in the database as given.
    with transaction(app.runtime.sessions) as s:
        stored = s.scalars(select(RefreshToken.token_hash)).all()
        assert hash_key(created["refresh_token"]) in stored and created["refresh_token"] not in stored
    taken = app.client.post(
        "/api/v1/auth/signup", json={"email": "ADA@example.test", "password": STRONG, "organisation": "X"}
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "email_taken"


@pytest.mark.parametrize(
    ("password", "why"), [("short1", "at least"), ("password1234", "breached"), ("ada@example.test", "email")]
)
def test_the_password_policy_refuses_weak_passwords(app: Running, password: str, why: str) -> None:
    response = app.client.post(
        "/api/v1/auth/signup", json={"email": "ada@example.test", "password": password, "organisation": "X"}
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "weak_password"
    assert why in response.json()["error"]["message"]


def test_login_answers_the_same_for_unknown_email_and_wrong_password(app: Running) -> None:
    signup(app)
    wrong = login(app, password="not the password at all")
    unknown = login(app, email="nobody@example.test")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    ok = login(app)
    assert ok.status_code == 200 and ok.json()["token_type"] == "bearer"
    org_id = signup(app, "bob@example.test", "Bob Co")["organisation"]["id"]
    assert "login_failed" not in log_kinds(app, org_id)


def test_refresh_rotates_and_reuse_revokes_the_family(app: Running) -> None:
    first = signup(app)
    org_id = first["organisation"]["id"]
    second = app.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    third = app.client.post("/api/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
    assert third.status_code == 200
    # The first token is replayed (a thief's copy): refused, and the live descendant dies with it.
    replay = app.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "invalid_refresh_token"
    live = app.client.post("/api/v1/auth/refresh", json={"refresh_token": third.json()["refresh_token"]})
    assert live.status_code == 401
    assert "refresh_reuse" in log_kinds(app, org_id)
    # Another login session (family) of the same user is untouched.
    other = login(app).json()
    assert (
        app.client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code
        == 200
    )


def test_logout_revokes_the_refresh_token(app: Running) -> None:
    session = signup(app)
    assert (
        app.client.post("/api/v1/auth/logout", json={"refresh_token": session["refresh_token"]}).status_code
        == 204
    )
    again = app.client.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert again.status_code == 401


def test_password_change_logs_every_session_out(app: Running) -> None:
    first = signup(app)
    other = login(app).json()
    wrong = app.client.post(
        "/api/v1/auth/password",
        json={"current_password": "nope nope nope", "new_password": "another long passphrase 7"},
        headers=bearer(first["access_token"]),
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    changed = app.client.post(
        "/api/v1/auth/password",
        json={"current_password": STRONG, "new_password": "another long passphrase 7"},
        headers=bearer(first["access_token"]),
    )
    assert changed.status_code == 200
    assert app.client.get("/api/v1/me", headers=bearer(other["access_token"])).status_code == 401
    assert (
        app.client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}).status_code
        == 401
    )
    assert app.client.get("/api/v1/me", headers=bearer(changed.json()["access_token"])).status_code == 200
    assert login(app).status_code == 401
    assert login(app, password="another long passphrase 7").status_code == 200
    assert "password_changed" in log_kinds(app, first["organisation"]["id"])


def test_password_reset_by_email_link(app: Running) -> None:
    signup(app)
    for email in ("ada@example.test", "nobody@example.test"):  # same answer either way
        response = app.client.post("/api/v1/auth/password/reset", json={"email": email})
        assert response.status_code == 202
    app.runtime.errands.settle()  # the mail is sent after the answer
    assert outbox(app, "nobody@example.test") == []
    mail = outbox(app, "ada@example.test")[-1]
    assert "Reset your Belvedere password" in mail.subject
    token = token_in(mail)
    weak = app.client.post("/api/v1/auth/password/reset/confirm", json={"token": token, "new_password": "x"})
    assert weak.status_code == 422
    done = app.client.post(
        "/api/v1/auth/password/reset/confirm",
        json={"token": token, "new_password": "reset long passphrase 9"},
    )
    assert done.status_code == 204
    reused = app.client.post(
        "/api/v1/auth/password/reset/confirm",
        json={"token": token, "new_password": "reset long passphrase 10"},
    )
    assert reused.status_code == 400 and reused.json()["error"]["code"] == "invalid_token"
    assert login(app, password="reset long passphrase 9").status_code == 200


def test_email_verification(app: Running) -> None:
    created = signup(app)
    token = token_in(outbox(app, "ada@example.test")[0])
    verified = app.client.post("/api/v1/auth/verify", json={"token": token})
    assert verified.status_code == 200 and verified.json()["email_verified"]
    assert app.client.post("/api/v1/auth/verify", json={"token": token}).status_code == 400
    me = app.client.get("/api/v1/me", headers=bearer(created["access_token"])).json()
    assert me["user"]["email_verified"] is True


def test_brute_force_is_throttled_per_account(app: Running) -> None:
    org_id = signup(app)["organisation"]["id"]
    for _ in range(5):
        assert login(app, password="wrong wrong wrong").status_code == 401
    throttled = login(app)  # even the right password: the account is locked for the window
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
    # Unknown accounts count the same way (no enumeration by the throttle either).
    assert [login(app, email="ghost@example.test").status_code for _ in range(6)] == [401] * 5 + [429]
    kinds = log_kinds(app, org_id)
    assert kinds.count("login_failed") == 5 and "login_throttled" in kinds


def test_brute_force_per_ip_spans_accounts(tmp_path: Path) -> None:
    """Every attempt from one address counts, a success too: guessing one password across many accounts
    is bounded by the address's budget, not only by each account's."""
    with running(fast_settings(tmp_path, auth={"login_ip_attempts": 6})) as app:
        signup(app)
        assert login(app).status_code == 200
        for i in range(5):
            assert login(app, email=f"ghost{i}@example.test").status_code == 401
        assert login(app, email="ghost9@example.test").status_code == 429
        assert login(app).status_code == 429


def test_jwt_keys_rotate_without_logging_anyone_out(tmp_path: Path) -> None:
    old = {"kid": "2026-10", "secret": "o" * 40}
    new = {"kid": "2026-11", "secret": "n" * 40}
    with running(fast_settings(tmp_path / "a", auth={"jwt_keys": [old]})) as a:
        token = signup(a)["access_token"]
        assert jwt.get_unverified_header(token)["kid"] == "2026-10"
    # The new key signs; the old one still verifies what it signed.
    with running(fast_settings(tmp_path / "a", auth={"jwt_keys": [new, old]})) as b:
        assert b.client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        fresh = login(b).json()["access_token"]
        assert jwt.get_unverified_header(fresh)["kid"] == "2026-11"
    # Once the old key is retired, its tokens stop working; the new one's keep going.
    with running(fast_settings(tmp_path / "a", auth={"jwt_keys": [new]})) as c:
        assert c.client.get("/api/v1/me", headers=bearer(token)).status_code == 401
        assert c.client.get("/api/v1/me", headers=bearer(fresh)).status_code == 200


def test_access_tokens_expire(tmp_path: Path) -> None:
    with running(fast_settings(tmp_path)) as app:
        created = signup(app)
        tokens = app.runtime.auth.tokens
        tokens.lifetime_seconds = -1  # issued already expired
        expired, _ = tokens.issue(user_id=created["user"]["id"], token_version=0, family="f")
        response = app.client.get("/api/v1/me", headers=bearer(expired))
        assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


def test_cookie_session_needs_the_csrf_token_for_changes(app: Running) -> None:
    signup(app)
    opened = login(app, cookie=True)
    csrf = opened.json()["csrf_token"]
    assert app.client.cookies.get("bv_access") and app.client.cookies.get("bv_csrf") == csrf
    set_cookie = opened.headers.get_list("set-cookie")
    assert any("bv_access=" in c and "HttpOnly" in c and "SameSite=lax" in c for c in set_cookie)
    me = app.client.get("/api/v1/me")
    assert me.status_code == 200
    org_id = me.json()["organisations"][0]["id"]
    forged = app.client.patch(f"/api/v1/orgs/{org_id}", json={"name": "Pwned"})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed"
    wrong = app.client.patch(
        f"/api/v1/orgs/{org_id}", json={"name": "Pwned"}, headers={"X-CSRF-Token": "0" * 64}
    )
    assert wrong.status_code == 403
    form = app.client.patch(f"/api/v1/orgs/{org_id}", data={"name": "Pwned"})
    assert form.status_code == 403
    ok = app.client.patch(f"/api/v1/orgs/{org_id}", json={"name": "Renamed"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["name"] == "Renamed", ok.text


def test_invitation_flow(app: Running) -> None:
    owner = signup(app)
    org_id = owner["organisation"]["id"]
    invited = app.client.post(
        f"/api/v1/orgs/{org_id}/invitations",
        json={"email": "grace@example.test", "role": "admin"},
        headers=bearer(owner["access_token"]),
    )
    assert invited.status_code == 201
    token = token_in(outbox(app, "grace@example.test")[-1])
    stranger = signup(app, "eve@example.test", "Eve Org")
    stolen = app.client.post(
        "/api/v1/invitations/accept", json={"token": token}, headers=bearer(stranger["access_token"])
    )
    assert stolen.status_code == 400  # addressed to another email
    grace = signup(app, "grace@example.test", "Grace Org")
    joined = app.client.post(
        "/api/v1/invitations/accept", json={"token": token}, headers=bearer(grace["access_token"])
    )
    assert joined.status_code == 200 and joined.json() == {"organisation_id": org_id, "role": "admin"}
    members = app.client.get(f"/api/v1/orgs/{org_id}/members", headers=bearer(owner["access_token"])).json()
    assert {(m["email"], m["role"]) for m in members["results"]} == {
        ("ada@example.test", "owner"),
        ("grace@example.test", "admin"),
    }
    assert (
        app.client.post(
            "/api/v1/invitations/accept", json={"token": token}, headers=bearer(grace["access_token"])
        ).status_code
        == 400
    )
    log = app.client.get(f"/api/v1/orgs/{org_id}/security-log", headers=bearer(owner["access_token"])).json()
    kinds = [e["kind"] for e in log["results"]]
    assert "invitation_sent" in kinds and "invitation_accepted" in kinds
    # The owner hears of it: a listener of the member.joined event, run by the server's job worker.
    told = lambda: [m.subject for m in outbox(app, "ada@example.test") if "joined" in m.subject]  # noqa: E731
    assert eventually(lambda: len(told()) == 1, timeout=10)
    assert told() == ["grace@example.test joined your organisation"]


def test_personal_keys_are_shown_once_capped_by_scope_and_revocable(app: Running) -> None:
    owner = signup(app)
    org_id = owner["organisation"]["id"]
    created = app.client.post(
        f"/api/v1/orgs/{org_id}/api-keys",
        json={"label": "ci", "scopes": ["read"]},
        headers=bearer(owner["access_token"]),
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("bp_")
    listed = app.client.get(f"/api/v1/orgs/{org_id}/api-keys", headers=bearer(owner["access_token"])).json()
    assert all("key" not in k for k in listed["results"]) and listed["results"][0]["prefix"] == key[:10]
    assert app.client.get(f"/api/v1/orgs/{org_id}/members", headers=bearer(key)).status_code == 200
    # A read-scoped key of an owner acts as a viewer.
    renamed = app.client.patch(f"/api/v1/orgs/{org_id}", json={"name": "X"}, headers=bearer(key))
    assert renamed.status_code == 403
    key_id = created.json()["id"]
    listed = app.client.get(f"/api/v1/orgs/{org_id}/api-keys", headers=bearer(owner["access_token"])).json()
    assert listed["results"][0]["last_used_at"] is not None
    revoked = app.client.delete(
        f"/api/v1/orgs/{org_id}/api-keys/{key_id}", headers=bearer(owner["access_token"])
    )
    assert revoked.status_code == 204
    assert app.client.get(f"/api/v1/orgs/{org_id}/members", headers=bearer(key)).status_code == 401
    kinds = log_kinds(app, org_id)
    assert "key_created" in kinds and "key_revoked" in kinds


def test_security_log_filters_and_exports(app: Running) -> None:
    owner = signup(app)
    org_id = owner["organisation"]["id"]
    login(app, password="wrong password entirely")
    url = f"/api/v1/orgs/{org_id}/security-log"
    failed = app.client.get(
        url, params={"kind": "login_failed"}, headers=bearer(owner["access_token"])
    ).json()
    assert [e["kind"] for e in failed["results"]] == ["login_failed"]
    entry = failed["results"][0]
    assert (
        entry["actor_email"] == "ada@example.test" and entry["ip_hash"] and entry["ip_hash"] != "testclient"
    )
    future = app.client.get(
        url, params={"since": "2999-01-01T00:00:00Z"}, headers=bearer(owner["access_token"])
    ).json()
    assert future["results"] == []
    csv = app.client.get(url, params={"format": "csv"}, headers=bearer(owner["access_token"]))
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("id,at,kind") and "login_failed" in csv.text


def test_unknown_accounts_cost_the_same_argon2_work(app: Running) -> None:
    """An unknown email is verified against a decoy hash made with the same parameters as real ones, so
    the answer takes the same work whether or not the account exists."""
    from argon2 import extract_parameters

    signup(app)
    passwords = app.runtime.auth.passwords
    with transaction(app.runtime.sessions) as s:
        user = find_user(s, email="ada@example.test")
        assert user is not None
        real = user.password_hash
    assert extract_parameters(passwords.decoy) == extract_parameters(real)
    assert passwords.verify(None, PASSWORD) is False
    assert passwords.verify(None, "belvedere-decoy-password") is False  # the decoy never admits anyone
    assert passwords.verify(real, STRONG) is True


def test_account_free_endpoints_have_a_budget_per_ip(tmp_path: Path) -> None:
    with running(fast_settings(tmp_path, auth={"public_requests_per_hour": 3})) as app:
        answers = [
            app.client.post("/api/v1/auth/password/reset", json={"email": f"x{i}@example.test"})
            for i in range(3)
        ]
        assert [a.status_code for a in answers] == [202, 202, 202]
        assert answers[-1].headers["RateLimit-Remaining"] == "0"
        refused = app.client.post(
            "/api/v1/auth/signup", json={"email": "new@example.test", "password": STRONG, "organisation": "N"}
        )
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert outbox(app, "new@example.test") == []


def test_a_cookie_session_refreshes_and_logs_out_with_its_cookies(app: Running) -> None:
    signup(app)
    opened = login(app, cookie=True).json()
    first_access = app.client.cookies.get("bv_access")
    assert any(
        "bv_refresh=" in c and "SameSite=strict" in c and "HttpOnly" in c
        for c in login(app, cookie=True).headers.get_list("set-cookie")
    )
    refreshed = app.client.post("/api/v1/auth/refresh", json={})
    assert refreshed.status_code == 200, refreshed.text
    assert app.client.cookies.get("bv_access") not in (None, first_access)
    assert refreshed.json()["csrf_token"] != opened["csrf_token"]  # the second login is another family
    assert app.client.get("/api/v1/me").status_code == 200
    assert app.client.post("/api/v1/auth/logout", json={}).status_code == 204
    assert app.client.cookies.get("bv_access") is None
    assert app.client.get("/api/v1/me").status_code == 401
    assert app.client.post("/api/v1/auth/refresh", json={}).status_code == 401


def test_access_tokens_die_with_their_session(app: Running) -> None:
    """Issue #25 (finding 9): an access token stops working when its login session (refresh family) is
    logged out or revoked for reuse, not only when it expires."""
    first = signup(app)
    assert app.client.get("/api/v1/me", headers=bearer(first["access_token"])).status_code == 200
    app.client.post("/api/v1/auth/logout", json={"refresh_token": first["refresh_token"]})
    after_logout = app.client.get("/api/v1/me", headers=bearer(first["access_token"]))
    assert after_logout.status_code == 401 and after_logout.json()["error"]["code"] == "unauthorized"

    second = login(app).json()
    rotated = app.client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}).json()
    assert app.client.get("/api/v1/me", headers=bearer(rotated["access_token"])).status_code == 200
    # The spent token comes back (a thief's copy): the family is revoked, and its access tokens with it.
    app.client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    for token in (second["access_token"], rotated["access_token"]):
        assert app.client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    # Another session of the same user lives on.
    third = login(app).json()
    assert app.client.get("/api/v1/me", headers=bearer(third["access_token"])).status_code == 200


@pytest.mark.parametrize("scope", ["read", "admin"])
def test_personal_keys_cannot_change_the_account(app: Running, scope: str) -> None:
    """Issue #25 (finding 9): a personal key acts within its organisation and scopes; the account's own
    routes (new organisations, password, invitations) need the user's session."""
    owner = signup(app)
    org_id = owner["organisation"]["id"]
    key = app.client.post(
        f"/api/v1/orgs/{org_id}/api-keys",
        json={"label": "ci", "scopes": [scope]},
        headers=bearer(owner["access_token"]),
    ).json()["key"]
    assert app.client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    refused = [
        app.client.post("/api/v1/orgs", json={"name": "Shadow"}, headers=bearer(key)),
        app.client.post(
            "/api/v1/auth/password",
            json={"current_password": STRONG, "new_password": "a takeover passphrase 1"},
            headers=bearer(key),
        ),
        app.client.post("/api/v1/invitations/accept", json={"token": "bt_" + "x" * 43}, headers=bearer(key)),
        app.client.post("/api/v1/auth/verify/resend", headers=bearer(key)),
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(403, "session_required")] * 4
    orgs = app.client.get("/api/v1/me", headers=bearer(owner["access_token"])).json()["organisations"]
    assert [o["name"] for o in orgs] == ["Analytical Engines"]


def test_one_inbox_gets_a_bounded_number_of_emails(tmp_path: Path) -> None:
    """Per-account limit: resets and verifications sent to one account per hour are capped, whoever asks
    (the per-address budget alone let many addresses flood one inbox)."""
    auth = {"account_emails_per_hour": 3, "public_requests_per_hour": 1000}
    with running(fast_settings(tmp_path, auth=auth)) as app:
        created = signup(app)  # the verification email: 1 of 3
        for _ in range(5):
            assert (
                app.client.post("/api/v1/auth/password/reset", json={"email": "ada@example.test"}).status_code
                == 202
            )
        app.runtime.errands.settle()
        subjects = [m.subject for m in outbox(app, "ada@example.test")]
        assert subjects.count("Reset your Belvedere password") == 2 and len(subjects) == 3
        again = app.client.post("/api/v1/auth/verify/resend", headers=bearer(created["access_token"]))
        assert again.status_code == 429 and again.json()["error"]["code"] == "too_many_emails"
        assert int(again.headers["Retry-After"]) > 0
