"""Rendering helpers shared by the pages: templates, the form token of signed-out forms, the HTML error."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from belvedere import __version__
from belvedere.web.access import CSRF_COOKIE
from belvedere.web.pages.countries import country_name, flag
from belvedere.web.pages.views import money

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
TEMPLATES.env.globals.update(country_name=country_name, flag=flag, money_text=money)
FORM_COOKIE = "bv_form"


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page, with the CSRF token HTMX sends back as a header on every change (see base.html)."""
    context.setdefault("csrf", request.cookies.get(CSRF_COOKIE, ""))
    return TEMPLATES.TemplateResponse(
        request, template, {"version": __version__, **context}, status_code=status
    )


def signed_out_form(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A form used before any session exists (login, sign-up): a double-submit token in a cookie and a
    hidden field stops other sites from posting it in the visitor's name (login CSRF)."""
    token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    response = page(request, template, status, form_token=token, **context)
    response.set_cookie(
        FORM_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


def form_token_ok(request: Request, sent: str) -> bool:
    expected = request.cookies.get(FORM_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected, sent)


def redirect(url: str, request: Request | None = None) -> Response:
    """A redirect that works for plain forms (303) and for HTMX requests (HX-Redirect)."""
    if request is not None and request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, message: str) -> Response:
    if status == 401:  # back to the same page (query included) after logging in
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    titles = {403: "Not allowed", 404: "Not found", 429: "Slow down"}
    return page(
        request, "error.html", status, title=titles.get(status, "Something went wrong"), message=message
    )
