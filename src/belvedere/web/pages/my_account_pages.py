"""The account page of the signed-in person: name, email (changed through a link sent to the new address),
password, two-factor authentication and recovery codes, and the open sessions.

Each form is a thin handler over a use case of ``auth`` or ``accounts.profile`` (the JSON API calls the same
ones); a refusal is shown in the section the form belongs to, saying what to do next. Forms post with HTMX,
which sends the session's CSRF token as a header (base.html); ``access.authenticate`` checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from belvedere.accounts.grants import Grant
from belvedere.accounts.models import User
from belvedere.accounts.organisations import organisations_of
from belvedere.accounts.profile import rename_user
from belvedere.accounts.roles import Role
from belvedere.auth import login_sessions
from belvedere.auth.passwords import PasswordRejected
from belvedere.auth.securitylog import Origin, organisations_of_user
from belvedere.auth.service import AuthFailed, TokenPair
from belvedere.platform.db import transaction
from belvedere.platform.errors import BelvedereError
from belvedere.runtime import Runtime
from belvedere.web.access import Caller, RuntimeDep, SignedIn, caller_user, request_origin
from belvedere.web.ids import PathId
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect
from belvedere.web.sessions import close_session, open_session

router = APIRouter(include_in_schema=False)
ACCOUNT = "/app/account"
Text = Annotated[str, Form(max_length=1024)]
Code = Annotated[str, Form(max_length=40)]
DONE = {"password": "Password changed. Your other sessions were signed out; this one goes on."}


def ago(moment: datetime, now: datetime | None = None) -> str:
    """'just now', '5 minutes ago', '3 hours ago', '2 days ago', else the date."""
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count = int(seconds // size)
        if count >= 1 and (unit != "day" or count < 31):
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now" if seconds < 86400 else moment.strftime("%-d %b %Y")


def navigation(runtime: Runtime, user_id: int) -> dict[str, Any]:
    """The app's header, on the person's first organisation (the switcher lists the others)."""
    with transaction(runtime.sessions) as session:
        orgs = organisations_of(session, user_id=user_id)
    if not orgs:
        return {"org": None, "project": None}
    org, role = orgs[0]
    return {**nav(runtime, Grant(org=org, role=cast("Role", role), user_id=user_id)), "project": None}


def _page(request: Request, runtime: Runtime, caller: Caller, status: int = 200, **extra: Any) -> Response:
    with transaction(runtime.sessions) as session:
        user = caller_user(session, caller)
        context: dict[str, Any] = {
            "me": {"name": user.name, "email": user.email, "verified": user.email_verified_at is not None},
            "pending_email": runtime.auth.pending_email(session, user=user),
            "two_factor": runtime.auth.two_factor.state(session, user=user),
            "sessions": login_sessions.list_sessions(session, user_id=user.id, current_family=caller.family),
        }
    assert caller.user_id is not None
    return page(
        request,
        "account.html",
        status,
        **navigation(runtime, caller.user_id),
        **context,
        ago=ago,
        **extra,
    )


def _act(
    request: Request,
    runtime: Runtime,
    caller: Caller,
    section: str,
    action: Callable[[Session, User, Origin], Any],
    answer: Callable[[Any], Response | str],
) -> Response:
    """Run a use case in one transaction, then ``answer`` its result (a response, or a notice for the page
    shown again); a refusal shows the page with the reason in ``section`` and the refusal's status."""
    try:
        with transaction(runtime.sessions) as session:
            result = action(session, caller_user(session, caller), request_origin(request))
    except BelvedereError as exc:
        return _page(request, runtime, caller, exc.status, error=exc.message, section=section)
    except PasswordRejected as exc:
        return _page(request, runtime, caller, 422, error=str(exc), section=section)
    except AuthFailed as exc:  # the current password, at a password change
        message = f"{exc} Type the password you log in with."
        return _page(request, runtime, caller, 403, error=message, section=section)
    reply = answer(result)
    if isinstance(reply, Response):
        return reply
    extra: dict[str, Any] = {"recovery_codes": result} if isinstance(result, list) else {}
    return _page(request, runtime, caller, notice=reply, section=section, **extra)


@router.get(ACCOUNT)
def account(caller: SignedIn, request: Request, runtime: RuntimeDep, done: str = "") -> Response:
    return _page(request, runtime, caller, notice=DONE.get(done), section="top" if done in DONE else "")


@router.post(ACCOUNT + "/name")
def change_name(
    caller: SignedIn, request: Request, runtime: RuntimeDep, name: Annotated[str, Form(max_length=1024)] = ""
) -> Response:
    return _act(
        request,
        runtime,
        caller,
        "name",
        lambda session, user, _: rename_user(session, user=user, name=name),
        lambda _: "Name saved.",
    )


@router.post(ACCOUNT + "/email")
def change_email(
    caller: SignedIn, request: Request, runtime: RuntimeDep, email: Text, password: Text
) -> Response:
    return _act(
        request,
        runtime,
        caller,
        "email",
        lambda session, user, where: runtime.auth.request_email_change(
            session, user=user, password=password, new_email=email, where=where
        ),
        lambda address: (
            f"We sent a link to {address}. Your email changes when you open it (within "
            f"{runtime.settings.auth.verify_token_hours} hours); until then you sign in with the current one."
        ),
    )


@router.post(ACCOUNT + "/password")
def change_password(
    caller: SignedIn, request: Request, runtime: RuntimeDep, current_password: Text, new_password: Text
) -> Response:
    def reopen(pair: TokenPair) -> Response:
        # The old session was logged out with the others: this browser continues in the new one.
        response = redirect(ACCOUNT + "?done=password", request)
        open_session(response, runtime, pair)
        return response

    return _act(
        request,
        runtime,
        caller,
        "password",
        lambda session, user, where: runtime.auth.change_password(
            session, user=user, current=current_password, new=new_password, where=where
        ),
        reopen,
    )


@router.post(ACCOUNT + "/two-factor")
def start_two_factor(caller: SignedIn, request: Request, runtime: RuntimeDep, password: Text) -> Response:
    return _act(
        request,
        runtime,
        caller,
        "two-factor",
        lambda session, user, _: runtime.auth.two_factor.begin(session, user=user, password=password),
        lambda _: "Now add Belvedere to your authenticator app, then type the code it shows.",
    )


@router.post(ACCOUNT + "/two-factor/confirm")
def confirm_two_factor(caller: SignedIn, request: Request, runtime: RuntimeDep, code: Code) -> Response:
    return _act(
        request,
        runtime,
        caller,
        "two-factor",
        lambda session, user, where: runtime.auth.two_factor.confirm(
            session, user=user, code=code, where=where
        ),
        lambda _: "Two-factor authentication is on. Save your recovery codes now.",
    )


@router.post(ACCOUNT + "/two-factor/recovery-codes")
def new_recovery_codes(caller: SignedIn, request: Request, runtime: RuntimeDep, code: Code) -> Response:
    return _act(
        request,
        runtime,
        caller,
        "two-factor",
        lambda session, user, where: runtime.auth.two_factor.regenerate(
            session, user=user, code=code, where=where
        ),
        lambda _: "New recovery codes: the old ones no longer work. Save these now.",
    )


@router.post(ACCOUNT + "/two-factor/disable")
def disable_two_factor(
    caller: SignedIn, request: Request, runtime: RuntimeDep, password: Text, code: Code
) -> Response:
    return _act(
        request,
        runtime,
        caller,
        "two-factor",
        lambda session, user, where: runtime.auth.two_factor.disable(
            session, user=user, password=password, code=code, where=where
        ),
        lambda _: "Two-factor authentication is off: your password alone signs you in.",
    )


@router.post(ACCOUNT + "/sessions/{session_id}/revoke")
def revoke_session(session_id: PathId, caller: SignedIn, request: Request, runtime: RuntimeDep) -> Response:
    def revoke(session: Session, user: User, where: Origin) -> str:
        return login_sessions.revoke_session(
            session,
            user_id=user.id,
            session_id=session_id,
            org_ids=organisations_of_user(session, user.id),
            where=where,
        )

    def answer(family: str) -> Response | str:
        if family != caller.family:
            return "Session signed out."
        response = redirect("/login", request)  # this very session: the browser is signed out
        close_session(response)
        return response

    return _act(request, runtime, caller, "sessions", revoke, answer)


@router.post(ACCOUNT + "/sessions/revoke-others")
def revoke_other_sessions(caller: SignedIn, request: Request, runtime: RuntimeDep) -> Response:
    return _act(
        request,
        runtime,
        caller,
        "sessions",
        lambda session, user, where: login_sessions.revoke_other_sessions(
            session,
            user_id=user.id,
            keep_family=caller.family,
            org_ids=organisations_of_user(session, user.id),
            where=where,
        ),
        lambda ended: (
            f"Signed out {ended} other session{'s' if ended != 1 else ''}."
            if ended
            else "There was no other session to sign out."
        ),
    )
