"""Sign-up, login (with its two-factor step) and logout pages. They open the same cookie session as
`POST /api/v1/auth/login` and `/auth/login/code`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from belvedere.accounts.organisations import Conflict
from belvedere.auth.passwords import PasswordRejected
from belvedere.auth.service import AuthFailed, LoginExpired, PendingLogin, Throttled, TokenPair
from belvedere.platform.db import transaction
from belvedere.web.access import REFRESH_COOKIE, RuntimeDep, SignedIn, request_origin
from belvedere.web.pages.render import form_token_ok, redirect, signed_out_form
from belvedere.web.sessions import close_session, open_session

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=1024)]


def _safe_next(target: str) -> str:
    """Only paths of this site: an open redirect would make the login page a phishing relay."""
    return target if target.startswith("/app") and not target.startswith("//") else "/app"


@router.get("/login")
def login_page(request: Request, next: str = "/app", done: str = "") -> Response:
    return signed_out_form(request, "login.html", next=_safe_next(next), done=done)


@router.post("/login")
def login(
    request: Request,
    runtime: RuntimeDep,
    email: Field,
    password: Field,
    form_token: Field,
    next: Field = "/app",
) -> Response:
    if not form_token_ok(request, form_token):
        return signed_out_form(request, "login.html", 403, error="The form expired: try again.", email=email)
    where = request_origin(request)
    ip = request.client.host if request.client else None
    outcome: object
    with transaction(runtime.sessions) as session:
        try:
            outcome = runtime.auth.login(session, email=email, password=password, ip=ip, where=where)
        except (Throttled, AuthFailed) as exc:
            outcome = exc
    if isinstance(outcome, Throttled):
        message = f"Too many failed attempts: wait {max(outcome.retry_after // 60, 1)} minutes and try again."
        return signed_out_form(request, "login.html", 429, error=message, email=email, next=next)
    if isinstance(outcome, AuthFailed):
        return signed_out_form(request, "login.html", 401, error=str(outcome), email=email, next=next)
    if isinstance(outcome, PendingLogin):  # two-factor authentication: the code is asked next
        return signed_out_form(request, "login_code.html", pending=outcome.token, next=_safe_next(next))
    assert isinstance(outcome, TokenPair)
    response = redirect(_safe_next(next))
    open_session(response, runtime, outcome)
    return response


@router.get("/login/code")
def login_code_page() -> Response:
    """The code form exists only as the answer to a right password: reloaded or bookmarked, start over."""
    return redirect("/login")


@router.post("/login/code")
def login_code(
    request: Request,
    runtime: RuntimeDep,
    pending: Field,
    code: Annotated[str, Form(max_length=40)],
    form_token: Field,
    next: Field = "/app",
) -> Response:
    """The second step: the password was right (``pending`` says so, signed and short-lived); a code from
    the authenticator or a recovery code opens the session."""
    values = {"pending": pending, "next": _safe_next(next)}
    if not form_token_ok(request, form_token):
        return signed_out_form(
            request, "login_code.html", 403, error="The form expired: try again.", **values
        )
    outcome: object
    with transaction(runtime.sessions) as session:
        try:  # wrong codes are logged: the refusal comes after the transaction commits
            outcome = runtime.auth.complete_login(
                session, pending_token=pending, code=code, where=request_origin(request)
            )
        except (Throttled, AuthFailed) as exc:
            outcome = exc
    if isinstance(outcome, LoginExpired):
        return signed_out_form(request, "login.html", 401, error=str(outcome), next=_safe_next(next))
    if isinstance(outcome, Throttled):
        return signed_out_form(request, "login_code.html", 429, error=str(outcome), **values)
    if isinstance(outcome, AuthFailed):
        return signed_out_form(request, "login_code.html", 401, error=str(outcome), **values)
    assert isinstance(outcome, TokenPair)
    response = redirect(_safe_next(next))
    open_session(response, runtime, outcome)
    return response


@router.get("/signup")
def signup_page(request: Request, next: str = "") -> Response:
    return signed_out_form(request, "signup.html", next=_safe_next(next) if next else "")


@router.post("/signup")
def signup(
    request: Request,
    runtime: RuntimeDep,
    email: Field,
    password: Field,
    organisation: Annotated[str, Form(min_length=1, max_length=200)],
    form_token: Field,
    name: Annotated[str, Form(max_length=200)] = "",
    next: Field = "",
) -> Response:
    values = {"email": email, "name": name, "organisation": organisation, "next": next}
    if not form_token_ok(request, form_token):
        return signed_out_form(request, "signup.html", 403, error="The form expired: try again.", **values)
    try:
        with transaction(runtime.sessions) as session:
            _, org, pair = runtime.auth.signup(
                session,
                email=email,
                password=password,
                name=name,
                organisation=organisation,
                where=request_origin(request),
            )
            org_id = org.id
    except (PasswordRejected, Conflict) as exc:
        return signed_out_form(request, "signup.html", 422, error=str(exc), **values)
    # From an invitation link, back to it; otherwise on to the new organisation's first project.
    response = redirect(_safe_next(next) if next else f"/app/orgs/{org_id}/projects/new")
    open_session(response, runtime, pair)
    return response


@router.post("/logout")
def logout(request: Request, caller: SignedIn, runtime: RuntimeDep) -> Response:
    token = request.cookies.get(REFRESH_COOKIE)
    if token:
        with transaction(runtime.sessions) as session:
            runtime.auth.logout(session, refresh_token=token, where=request_origin(request))
    response = redirect("/login", request)
    close_session(response)
    return response
