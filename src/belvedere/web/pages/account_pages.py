"""The pages the account emails link to: forgotten password, reset, email verification, and accepting an
invitation. Each acts through the JSON API's own handler, so checks, throttles and the security log match."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from belvedere.web import api_auth
from belvedere.web.access import ACCESS_COOKIE, RuntimeDep, SignedIn
from belvedere.web.errors import ApiError
from belvedere.web.pages.render import form_token_ok, page, redirect, signed_out_form

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=1024)]


def _attempt(action: Callable[[], Any]) -> tuple[Any, str | None, int]:
    """Run an API handler: (its answer, None, 200), or (None, the reason to show, the status)."""
    try:
        return action(), None, 200
    except ApiError as exc:
        return None, exc.message, exc.status
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        return None, f"{field}: {first['msg']}" if field else str(first["msg"]), 422


def _expired(request: Request, template: str, **context: Any) -> Response:
    return signed_out_form(request, template, 403, error="The form expired: try again.", **context)


@router.get("/forgot-password")
def forgot_page(request: Request) -> Response:
    return signed_out_form(request, "forgot_password.html")


@router.post("/forgot-password")
def forgot(request: Request, runtime: RuntimeDep, email: Field, form_token: Field) -> Response:
    if not form_token_ok(request, form_token):
        return _expired(request, "forgot_password.html", email=email)

    def send() -> Any:
        api_auth.public_throttle(request, runtime)
        return api_auth.request_reset(api_auth.ResetRequestBody(email=email), runtime)

    answer, error, status = _attempt(send)
    notice = answer["status"] if answer else None
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
    body = {"token": token, "new_password": password}
    _, error, status = _attempt(
        lambda: api_auth.reset_password(api_auth.ResetBody.model_validate(body), request, runtime)
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
    answer, error, status = _attempt(
        lambda: api_auth.verify_email(api_auth.TokenBody(token=token), request, runtime)
    )
    if error:
        return signed_out_form(request, "verify_email.html", status, error=error, token=token)
    return signed_out_form(request, "verify_email.html", verified=answer["email"], token="")


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
    answer, error, status = _attempt(
        lambda: api_auth.accept_invitation(api_auth.TokenBody(token=token), caller, request, runtime)
    )
    if error:
        return page(request, "invitation_accept.html", status, token=token, error=error)
    return redirect(f"/app/orgs/{answer['organisation_id']}/settings", request)
