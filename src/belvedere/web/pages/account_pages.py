"""The pages the account emails link to: forgotten password, reset, email verification, and accepting an
invitation. Each calls the use case the JSON API calls (``auth.service``, ``accounts.invitations``), with the
same throttles, so checks and the security log match."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from belvedere.accounts import invitations
from belvedere.auth.passwords import PasswordRejected
from belvedere.auth.service import RESET_REQUESTED, AuthFailed, reset_link_later
from belvedere.platform.db import transaction
from belvedere.platform.errors import BelvedereError
from belvedere.runtime import Runtime
from belvedere.web.access import (
    ACCESS_COOKIE,
    RuntimeDep,
    SignedIn,
    caller_user,
    public_throttle,
    request_origin,
)
from belvedere.web.pages.render import form_token_ok, page, redirect, signed_out_form

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=1024)]


def _attempt(runtime: Runtime, action: Callable[[Session], Any]) -> tuple[Any, str | None, int]:
    """Run a use case in one transaction: (its answer, None, 200), or (None, the reason to show, the
    status)."""
    try:
        with transaction(runtime.sessions) as session:
            return action(session), None, 200
    except BelvedereError as exc:
        return None, exc.message, exc.status
    except AuthFailed as exc:  # a reset or verification link that expired or was used
        return None, str(exc), 400
    except PasswordRejected as exc:
        return None, str(exc), 422


def _expired(request: Request, template: str, **context: Any) -> Response:
    return signed_out_form(request, template, 403, error="The form expired: try again.", **context)


@router.get("/forgot-password")
def forgot_page(request: Request) -> Response:
    return signed_out_form(request, "forgot_password.html")


@router.post("/forgot-password")
def forgot(request: Request, runtime: RuntimeDep, email: Field, form_token: Field) -> Response:
    if not form_token_ok(request, form_token):
        return _expired(request, "forgot_password.html", email=email)

    def send(_: Session) -> str:
        public_throttle(request, runtime)
        reset_link_later(runtime.errands, runtime.sessions, runtime.auth, email.strip())
        return RESET_REQUESTED

    notice, error, status = _attempt(runtime, send)
    return signed_out_form(request, "forgot_password.html", status, error=error, notice=notice, email=email)


@router.get("/reset-password")
def reset_page(request: Request, token: str = "") -> Response:
    return signed_out_form(request, "reset_password.html", token=token[:200])


@router.post("/reset-password")
def reset(
    request: Request, runtime: RuntimeDep, token: Field, password: Field, form_token: Field
) -> Response:
    if not form_token_ok(request, form_token):
        return _expired(request, "reset_password.html", token=token)
    where = request_origin(request)
    _, error, status = _attempt(
        runtime,
        lambda session: runtime.auth.reset_password(session, token=token, new=password, where=where),
    )
    if error:
        return signed_out_form(request, "reset_password.html", status, error=error, token=token)
    return redirect("/login?done=reset")


@router.get("/verify-email")
def verify_page(request: Request, token: str = "") -> Response:
    """A button rather than verifying on GET: mail scanners open links, a person presses the button."""
    return signed_out_form(request, "verify_email.html", token=token[:200])


@router.post("/verify-email")
def verify(request: Request, runtime: RuntimeDep, token: Field, form_token: Field) -> Response:
    if not form_token_ok(request, form_token):
        return _expired(request, "verify_email.html", token=token)
    where = request_origin(request)
    email, error, status = _attempt(
        runtime, lambda session: runtime.auth.verify_email(session, token=token, where=where).email
    )
    if error:
        return signed_out_form(request, "verify_email.html", status, error=error, token=token)
    return signed_out_form(request, "verify_email.html", verified=email, token="")


@router.get("/invitations/accept")
def invitation_link(request: Request, token: str = "") -> Response:
    """The emailed link: signed-in people go on to accept; others log in or sign up first, then come back."""
    target = "/app/invitations/accept?token=" + quote(token[:200], safe="")
    if request.cookies.get(ACCESS_COOKIE):
        return redirect(target)
    return page(request, "invitation_link.html", next=quote(target, safe=""))


@router.get("/app/invitations/accept")
def invitation_page(caller: SignedIn, request: Request, token: str = "") -> Response:
    return page(request, "invitation_accept.html", token=token[:200])


@router.post("/app/invitations/accept")
def accept_invitation(caller: SignedIn, request: Request, runtime: RuntimeDep, token: Field) -> Response:
    def join(session: Session) -> dict[str, object]:
        user = caller_user(session, caller)
        return invitations.accept_invitation(session, token=token, user=user, where=request_origin(request))

    answer, error, status = _attempt(runtime, join)
    if error:
        return page(request, "invitation_accept.html", status, token=token, error=error)
    return redirect(f"/app/orgs/{answer['organisation_id']}/settings", request)
