"""The notifications of the bell: the latest of every project the person can see, each linked to its
alert; opening the page marks them read (``notify.inbox``, as ``GET /api/v1/me/notifications``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from belvedere.accounts.projects import visible_project_ids
from belvedere.notify import inbox
from belvedere.platform.db import transaction
from belvedere.web.access import RuntimeDep, SignedIn, caller_user
from belvedere.web.pages.alert_views import when
from belvedere.web.pages.my_account_pages import navigation
from belvedere.web.pages.render import page

router = APIRouter(include_in_schema=False)
LATEST = 50


@router.get("/app/notifications")
def notifications(caller: SignedIn, request: Request, runtime: RuntimeDep) -> Response:
    with transaction(runtime.sessions) as session:
        user = caller_user(session, caller)
        seen = visible_project_ids(session, user.id)
        items = inbox.latest(session, user_id=user.id, project_ids=seen, limit=LATEST)
        if items:
            inbox.mark_read(session, user_id=user.id, up_to=items[0]["id"])
    return page(
        request,
        "notifications.html",
        **navigation(runtime, user.id),
        items=items,
        when=lambda at: when(at, "UTC"),
    )
