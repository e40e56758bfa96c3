"""Authentication endpoints: sign-up, login (and its second step), refresh, logout, password change and reset,
email verification.

The handlers are thin: each turns the request into one call of ``AuthService`` in one transaction, and its
exceptions into the API's errors. Login can also open a web session (HttpOnly cookies + CSRF token).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, StringConstraints

from belvedere.accounts import invitations
from belvedere.accounts.models import User
from belvedere.accounts.organisations import EMAIL_PATTERN, Conflict, organisations_of
from belvedere.auth.passwords import PasswordRejected
from belvedere.auth.securitylog import Origin
from belvedere.auth.service import (
    RESET_REQUESTED,
    AuthFailed,
    LoginExpired,
    PendingLogin,
    Throttled,
    TokenPair,
    reset_link_later,
)
from belvedere.platform.db import transaction
from belvedere.web.access import (
    PUBLIC_THROTTLE,
    REFRESH_COOKIE,
    RuntimeDep,
    SessionDep,
    SignedIn,
    caller_user,
    request_origin,
    subdomain_slug,
)
from belvedere.web.errors import ApiError
from belvedere.web.sessions import close_session, open_session

router = APIRouter(prefix="/api/v1", tags=["auth"])

Email = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320, pattern=EMAIL_PATTERN)
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SignupBody(BaseModel):
    email: Email
    password: Password
    name: str = Field("", max_length=200)
    organisation: str = Field(min_length=1, max_length=200, description="Name of the new organisation.")


class LoginBody(BaseModel):
    email: Email
    password: Password
    cookie: bool = Field(False, description="Also open a web session: HttpOnly cookies and a CSRF token.")


class LoginCodeBody(BaseModel):
    pending_token: str = Field(
        min_length=1,
        max_length=1000,
        description="From the login's answer when it says `second_factor_required`.",
    )
    code: str = Field(
        min_length=1,
        max_length=40,
        description="The current 6-digit code of the authenticator app, or an unused recovery code.",
    )
    cookie: bool = Field(False, description="Also open a web session: HttpOnly cookies and a CSRF token.")


class RefreshBody(BaseModel):
    refresh_token: Token | None = Field(
        None, description="Omit to use the web session's refresh cookie (then new cookies are set)."
    )


class PasswordBody(BaseModel):
    current_password: Password
    new_password: Password


class ResetRequestBody(BaseModel):
    email: Email


class ResetBody(BaseModel):
    token: Token
    new_password: Password


class TokenBody(BaseModel):
    token: Token


def _origin(request: Request, runtime: Any) -> tuple[str | None, Origin]:
    return (request.client.host if request.client else None), request_origin(request)


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "email_verified": user.email_verified_at is not None,
    }


def _policy_error(exc: PasswordRejected) -> ApiError:
    return ApiError(422, "weak_password", str(exc), [{"field": "body.password", "message": str(exc)}])


def _refresh_token(body: RefreshBody, request: Request) -> tuple[str, bool]:
    """The refresh token from the body, else from the session cookie (and whether it was the cookie)."""
    if body.refresh_token:
        return body.refresh_token, False
    cookie = request.cookies.get(REFRESH_COOKIE)
    if not cookie:
        raise ApiError(401, "invalid_refresh_token", "Send `refresh_token`, or log in again.")
    return cookie, True


@router.post(
    "/auth/signup",
    status_code=201,
    dependencies=PUBLIC_THROTTLE,
    summary="Create an account and its organisation (as owner)",
)
def signup(body: SignupBody, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    _, where = _origin(request, runtime)
    try:
        with transaction(runtime.sessions) as session:
            user, org, pair = runtime.auth.signup(
                session,
                email=body.email,
                password=body.password,
                name=body.name,
                organisation=body.organisation,
                where=where,
            )
            answer = {"user": _user_json(user), "organisation": {"id": org.id, "slug": org.slug}}
    except PasswordRejected as exc:
        raise _policy_error(exc) from None
    except Conflict as exc:
        raise ApiError(409, "email_taken", str(exc)) from None
    return {**answer, **pair.as_json()}


@router.post(
    "/auth/login",
    summary="Exchange email and password for tokens (or, with two-factor authentication, a pending token)",
)
def login(body: LoginBody, request: Request, response: Response, runtime: RuntimeDep) -> dict[str, Any]:
    """With two-factor authentication on, the answer holds no tokens but `second_factor_required: true` and
    a `pending_token`, to send with a code to `POST /auth/login/code` within a few minutes."""
    ip, where = _origin(request, runtime)
    outcome: TokenPair | PendingLogin | Exception
    with transaction(runtime.sessions) as session:
        # Failed and throttled attempts are logged: the refusal happens after the transaction commits.
        try:
            outcome = runtime.auth.login(
                session, email=body.email, password=body.password, ip=ip, where=where
            )
        except (Throttled, AuthFailed) as exc:
            outcome = exc
    return _logged_in(outcome, response, runtime, cookie=body.cookie)


@router.post("/auth/login/code", summary="The login's second step: a pending token and a two-factor code")
def login_code(
    body: LoginCodeBody, request: Request, response: Response, runtime: RuntimeDep
) -> dict[str, Any]:
    _, where = _origin(request, runtime)
    outcome: TokenPair | Exception
    with transaction(runtime.sessions) as session:
        try:  # wrong codes are logged: the refusal happens after the transaction commits
            outcome = runtime.auth.complete_login(
                session, pending_token=body.pending_token, code=body.code, where=where
            )
        except (Throttled, AuthFailed) as exc:
            outcome = exc
    return _logged_in(outcome, response, runtime, cookie=body.cookie)


def _logged_in(
    outcome: TokenPair | PendingLogin | Exception, response: Response, runtime: Any, *, cookie: bool
) -> dict[str, Any]:
    if isinstance(outcome, Throttled):
        headers = {"Retry-After": str(max(outcome.retry_after, 1))}
        raise ApiError(429, "too_many_attempts", str(outcome), headers=headers)
    if isinstance(outcome, LoginExpired):
        raise ApiError(401, "login_expired", str(outcome))
    if isinstance(outcome, Exception):
        raise ApiError(401, "invalid_credentials", str(outcome))
    if isinstance(outcome, PendingLogin):
        return outcome.as_json()
    extra = open_session(response, runtime, outcome) if cookie else {}
    return {**outcome.as_json(), **extra}


@router.post("/auth/refresh", summary="Rotate a refresh token: the old one is spent, a new pair returned")
def refresh(body: RefreshBody, request: Request, response: Response, runtime: RuntimeDep) -> dict[str, Any]:
    _, where = _origin(request, runtime)
    token, from_cookie = _refresh_token(body, request)
    outcome: TokenPair | AuthFailed
    with transaction(runtime.sessions) as session:
        # A reused token revokes its family; that must commit even though the request is refused.
        try:
            outcome = runtime.auth.refresh(session, refresh_token=token, where=where)
        except AuthFailed as exc:
            outcome = exc
    if isinstance(outcome, AuthFailed):
        if from_cookie:
            close_session(response)
        raise ApiError(401, "invalid_refresh_token", str(outcome))
    extra = open_session(response, runtime, outcome) if from_cookie else {}
    return {**outcome.as_json(), **extra}


@router.post("/auth/logout", status_code=204, summary="Revoke the session's refresh tokens")
def logout(body: RefreshBody, request: Request, response: Response, runtime: RuntimeDep) -> None:
    _, where = _origin(request, runtime)
    token = body.refresh_token or request.cookies.get(REFRESH_COOKIE)
    if token:
        with transaction(runtime.sessions) as session:
            runtime.auth.logout(session, refresh_token=token, where=where)
    close_session(response)


@router.post("/auth/password", summary="Change the password; every other session is logged out")
def change_password(
    body: PasswordBody, caller: SignedIn, request: Request, runtime: RuntimeDep
) -> dict[str, Any]:
    _, where = _origin(request, runtime)
    try:
        with transaction(runtime.sessions) as session:
            user = caller_user(session, caller)
            pair = runtime.auth.change_password(
                session, user=user, current=body.current_password, new=body.new_password, where=where
            )
    except PasswordRejected as exc:
        raise _policy_error(exc) from None
    except AuthFailed as exc:
        raise ApiError(403, "wrong_password", str(exc)) from None
    return pair.as_json()


@router.post(
    "/auth/password/reset",
    status_code=202,
    dependencies=PUBLIC_THROTTLE,
    summary="Email a reset link (same answer for any email)",
)
def request_reset(body: ResetRequestBody, runtime: RuntimeDep) -> dict[str, str]:
    reset_link_later(runtime.errands, runtime.sessions, runtime.auth, body.email)
    return {"status": RESET_REQUESTED}


@router.post(
    "/auth/password/reset/confirm",
    status_code=204,
    dependencies=PUBLIC_THROTTLE,
    summary="Set a new password with a reset link",
)
def reset_password(body: ResetBody, request: Request, runtime: RuntimeDep) -> None:
    _, where = _origin(request, runtime)
    try:
        with transaction(runtime.sessions) as session:
            runtime.auth.reset_password(session, token=body.token, new=body.new_password, where=where)
    except PasswordRejected as exc:
        raise _policy_error(exc) from None
    except AuthFailed as exc:
        raise ApiError(400, "invalid_token", str(exc)) from None


@router.post(
    "/auth/verify", dependencies=PUBLIC_THROTTLE, summary="Confirm an email address with the emailed token"
)
def verify_email(body: TokenBody, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    _, where = _origin(request, runtime)
    try:
        with transaction(runtime.sessions) as session:
            return _user_json(runtime.auth.verify_email(session, token=body.token, where=where))
    except AuthFailed as exc:
        raise ApiError(400, "invalid_token", str(exc)) from None


@router.post("/auth/verify/resend", status_code=202, summary="Send the verification email again")
def resend_verification(caller: SignedIn, runtime: RuntimeDep) -> dict[str, str]:
    try:
        with transaction(runtime.sessions) as session:
            user = caller_user(session, caller)
            if user.email_verified_at is None:
                runtime.auth.send_verification(session, user=user)
    except Throttled as exc:
        headers = {"Retry-After": str(exc.retry_after)}
        raise ApiError(429, "too_many_emails", str(exc), headers=headers) from None
    return {"status": "sent"}


@router.get("/me", summary="The signed-in user, their organisations and the current one")
def me(caller: SignedIn, request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """``current_organisation_id``: the organisation the host's subdomain names (when the user belongs to it),
    else the organisation of a personal key, else the user's first organisation."""
    with transaction(runtime.sessions) as session:
        user = caller_user(session, caller)
        orgs = organisations_of(session, user_id=user.id)
    slug = subdomain_slug(request, runtime.settings.auth.org_subdomain_base)
    if slug is not None:
        current = next((org.id for org, _ in orgs if org.slug == slug), None)
    elif caller.key is not None:
        current = caller.key.organisation_id
    else:
        current = orgs[0][0].id if orgs else None
    return {
        "user": _user_json(user),
        "organisations": [{**org.as_json(), "role": role} for org, role in orgs],
        "current_organisation_id": current,
    }


@router.post("/invitations/accept", summary="Join an organisation with an invitation token")
def accept_invitation(
    body: TokenBody, caller: SignedIn, request: Request, session: SessionDep
) -> dict[str, Any]:
    user = caller_user(session, caller)
    return invitations.accept_invitation(session, token=body.token, user=user, where=request_origin(request))
