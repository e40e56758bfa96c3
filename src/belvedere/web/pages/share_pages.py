"""Shared dashboards: anyone with the link sees the dashboard, read-only, and may embed it in an iframe
(the security headers let /share/ pages be framed). Nothing here needs or reads a session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from belvedere.accounts.grants import ProjectGrant
from belvedere.accounts.models import Project
from belvedere.accounts.organisations import OrgView
from belvedere.accounts.service import get_project
from belvedere.dashboards import service, sharing
from belvedere.dashboards.models import Dashboard
from belvedere.platform.db import transaction
from belvedere.runtime import Runtime
from belvedere.web.access import RuntimeDep, request_origin
from belvedere.web.ids import PathId
from belvedere.web.pages.insight_pages import render_widget
from belvedere.web.pages.periods import PERIODS
from belvedere.web.pages.render import page, redirect

router = APIRouter(include_in_schema=False)
# Passwords a visitor may try on one shared dashboard per 15 minutes (the right one included).
PASSWORD_ATTEMPTS = 10


def _open(runtime: Runtime, request: Request, token: str) -> tuple[Dashboard | None, bool]:
    """The dashboard a link opens (None: no such link) and whether the visitor may see it yet."""
    secret = runtime.settings.secret_key
    with transaction(runtime.sessions) as session:
        board = sharing.resolve(session, token, secret)
        if board is None:
            return None, False
        cookie = request.cookies.get(sharing.unlock_cookie_name(board))
        return board, sharing.unlocked(board, secret, cookie)


def _gone(request: Request) -> Response:
    return page(
        request,
        "error.html",
        404,
        title="This link does not work",
        message="The dashboard is no longer shared, or the link is incomplete. Ask its owner for a new link.",
    )


def _grant(runtime: Runtime, board: Dashboard) -> ProjectGrant:
    """Read access to the dashboard's own project, as the widgets' queries need it."""
    with transaction(runtime.sessions) as session:
        project = session.get(Project, board.project_id)
        info = get_project(session, project_id=board.project_id)
        assert project is not None and info is not None
        org = OrgView.of(project.organisation)
    return ProjectGrant(org=org, role="viewer", user_id=None, project=info)


@router.get("/share/{token}")
def shared_dashboard(request: Request, runtime: RuntimeDep, token: str, period: str = "") -> Response:
    board, unlocked = _open(runtime, request, token)
    if board is None:
        return _gone(request)
    if not unlocked:
        return page(request, "share_password.html", token=token, name=board.name)
    with transaction(runtime.sessions) as session:
        fresh = session.get(Dashboard, board.id)
        assert fresh is not None
        widgets = [(w.id, w.insight.name, w.display, w.width) for w in fresh.widgets]
    return page(
        request,
        "shared.html",
        token=token,
        name=board.name,
        widgets=widgets,
        period=period if period in PERIODS else "",
        periods=PERIODS,
        embedded=request.query_params.get("embed") == "1",
    )


@router.post("/share/{token}")
def unlock(
    request: Request, runtime: RuntimeDep, token: str, password: Annotated[str, Form(max_length=200)]
) -> Response:
    board, _ = _open(runtime, request, token)
    if board is None or board.share_password_hash is None:
        return _gone(request)
    key = f"share:{board.id}:{request_origin(request).ip_hash}"
    verdict = runtime.limiter.hit(key, PASSWORD_ATTEMPTS, 15, exact=True)  # counted before it is checked
    if not verdict.allowed:
        return page(
            request,
            "share_password.html",
            429,
            token=token,
            name=board.name,
            error=f"Too many wrong passwords; try again in {verdict.reset_seconds} s.",
        )
    if not runtime.auth.passwords.verify(board.share_password_hash, password):
        return page(
            request, "share_password.html", 403, token=token, name=board.name, error="Wrong password."
        )
    response = redirect(f"/share/{token}")
    response.set_cookie(
        sharing.unlock_cookie_name(board),
        sharing.unlock_value(board, runtime.settings.secret_key),
        httponly=True,
        path=f"/share/{token}",
        # An embedded dashboard is a third-party frame: its cookie must be SameSite=None, which needs HTTPS.
        samesite="none" if request.url.scheme == "https" else "lax",
        secure=request.url.scheme == "https",
        max_age=7 * 86400,
    )
    return response


@router.get("/share/{token}/widgets/{widget_id}")
async def shared_widget(
    request: Request, runtime: RuntimeDep, token: str, widget_id: PathId, period: str = ""
) -> Response:
    board, unlocked = _open(runtime, request, token)
    if board is None or not unlocked:
        return _gone(request)
    with transaction(runtime.sessions) as session:
        fresh = session.get(Dashboard, board.id)
        found = service.widget_of(fresh, widget_id) if fresh else None
        if found is None:
            return _gone(request)
        item, display = found.insight, found.display
    return await render_widget(request, runtime, _grant(runtime, board), item, display, period)
