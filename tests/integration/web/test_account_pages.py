"""The pages account emails link to, followed from the real emails (the outbox) as a person would."""

from __future__ import annotations

import re
from urllib.parse import unquote

from tests.integration.accounts.kit import PASSWORD, add_person, build_world
from tests.integration.accounts.test_auth import outbox, token_in
from tests.integration.capture_kit import Running, form_token

from belvedere.accounts.models import Membership
from belvedere.platform.db import transaction


def _link_path(mail_body: str, page: str) -> str:
    found = re.search(rf"https?://[^/\s]+({re.escape(page)}\?token=\S+)", mail_body)
    assert found, mail_body
    return found.group(1)


def test_forgotten_password_from_the_email_link_to_a_new_login(app: Running) -> None:
    person = add_person(app, None, None)
    token = form_token(app.client.get("/login").text)
    assert 'href="/forgot-password"' in app.client.get("/login").text
    for email in (person.email, "nobody@example.test"):  # the same answer either way
        sent = app.client.post("/forgot-password", data={"email": email, "form_token": token})
        assert sent.status_code == 200 and "a reset link is on its way" in sent.text
    app.runtime.errands.settle()
    [mail] = outbox(app, person.email)
    page = app.client.get(_link_path(mail.body, "/reset-password"))
    assert page.status_code == 200 and 'name="token" value="' in page.text
    reset_form = form_token(page.text)
    weak = app.client.post(
        "/reset-password", data={"token": token_in(mail), "password": "password123", "form_token": reset_form}
    )
    assert weak.status_code == 422 and "breached" in weak.text
    new_password = "a brand new passphrase 77"
    done = app.client.post(
        "/reset-password",
        data={"token": token_in(mail), "password": new_password, "form_token": reset_form},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/login?done=reset"
    assert "Your password is changed" in app.client.get("/login?done=reset").text
    login = app.client.post(
        "/login", data={"email": person.email, "password": new_password, "form_token": form_token(page.text)}
    )
    assert login.status_code == 200 and app.client.cookies.get("bv_access")
    again = app.client.post(
        "/reset-password",
        data={"token": token_in(mail), "password": new_password + "!", "form_token": reset_form},
    )
    assert again.status_code == 400 and "already used" in again.text  # the link is spent


def test_forms_without_their_token_change_nothing(app: Running) -> None:
    person = add_person(app, None, None)
    refused = app.client.post("/forgot-password", data={"email": person.email, "form_token": "forged"})
    assert refused.status_code == 403 and outbox(app, person.email) == []


def test_email_verification_needs_a_press_of_the_button(app: Running) -> None:
    token = form_token(app.client.get("/signup").text)
    app.client.post(
        "/signup",
        data={"email": "new@example.test", "password": PASSWORD, "organisation": "N", "form_token": token},
    )
    [mail] = outbox(app, "new@example.test")
    link = _link_path(mail.body, "/verify-email")
    page = app.client.get(link)
    assert "Confirm my email" in page.text and "is confirmed" not in page.text  # a GET verifies nothing
    confirmed = app.client.post(
        "/verify-email", data={"token": token_in(mail), "form_token": form_token(page.text)}
    )
    assert confirmed.status_code == 200 and "new@example.test is confirmed" in confirmed.text
    reused = app.client.post(
        "/verify-email", data={"token": token_in(mail), "form_token": form_token(page.text)}
    )
    assert reused.status_code == 400


def test_an_invitation_link_leads_a_new_person_through_sign_up_to_the_organisation(app: Running) -> None:
    world = build_world(app)
    invited = app.client.post(
        f"/api/v1/orgs/{world.org_id}/invitations",
        json={"email": "grace@example.test", "role": "viewer"},
        headers=world.people["owner"].auth(),
    )
    assert invited.status_code == 201
    mail = next(m for m in outbox(app, "grace@example.test") if "invitations/accept" in m.body)
    landing = app.client.get(_link_path(mail.body, "/invitations/accept"))
    signup_link = re.search(r'href="(/signup\?next=[^"]+)"', landing.text)
    assert landing.status_code == 200 and signup_link
    signup_page = app.client.get(signup_link.group(1).replace("&amp;", "&"))
    next_field = re.search(r'name="next" value="([^"]+)"', signup_page.text)
    assert next_field and unquote(next_field.group(1)).startswith("/app/invitations/accept?token=")
    created = app.client.post(
        "/signup",
        data={
            "email": "grace@example.test",
            "password": PASSWORD,
            "organisation": "Grace's own",
            "form_token": form_token(signup_page.text),
            "next": next_field.group(1).replace("&amp;", "&"),
        },
        follow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["location"].startswith(
        "/app/invitations/accept?token="
    )
    accept_page = app.client.get(created.headers["location"])
    assert "Accept the invitation" in accept_page.text
    headers = {"X-CSRF-Token": app.client.cookies["bv_csrf"], "HX-Request": "true"}
    accepted = app.client.post("/app/invitations/accept", data={"token": token_in(mail)}, headers=headers)
    assert (
        accepted.status_code == 204
        and accepted.headers["HX-Redirect"] == f"/app/orgs/{world.org_id}/settings"
    )
    with transaction(app.runtime.sessions) as session:
        roles = [m.role for m in session.query(Membership).filter_by(organisation_id=world.org_id)]
    assert roles.count("viewer") == 2  # the world's viewer and Grace
    again = app.client.post("/app/invitations/accept", data={"token": token_in(mail)}, headers=headers)
    assert again.status_code == 400 and "not valid" in again.text


def test_a_signed_out_visitor_returns_to_the_same_page_with_its_query_after_login(app: Running) -> None:
    response = app.client.get("/app/invitations/accept?token=abc", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/app/invitations/accept%3Ftoken%3Dabc"
