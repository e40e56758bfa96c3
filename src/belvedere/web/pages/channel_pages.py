"""A project's notification channels: the list, adding an email, Slack or webhook channel (a webhook's
signing secret shown once), removing one, and a test message per channel whose delivery the page follows
until it is sent or has failed. The same use cases as the JSON API (``notify.channels``, ``web.alerting``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from belvedere.accounts.grants import ProjectGrant
from belvedere.accounts.roles import at_least
from belvedere.notify import channels, deliveries
from belvedere.platform.db import transaction
from belvedere.platform.errors import BelvedereError
from belvedere.runtime import Runtime
from belvedere.web.access import ProjectMember, ProjectViewer, RuntimeDep
from belvedere.web.alerting import remove_channel, send_test
from belvedere.web.ids import PathId
from belvedere.web.pages import alert_views as words
from belvedere.web.pages.alert_forms import problem
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page

router = APIRouter(include_in_schema=False)
CHANNELS = "/app/projects/{project_id}/alerts/channels"
_DRAFT: TypeAdapter[Any] = TypeAdapter(channels.ChannelDraft)
FINAL = ("sent", "dead")


def _page(
    request: Request, runtime: Runtime, grant: ProjectGrant, status: int = 200, **extra: Any
) -> Response:
    with transaction(runtime.sessions) as session:
        found = [channels.channel_json(c) for c in channels.list_channels(session, grant.project.id)]
    return page(
        request,
        "alert_channels.html",
        status,
        **nav(runtime, grant),
        project=grant.project,
        channels=found,
        can_edit=at_least(grant.role, "member"),
        **extra,
    )


@router.get(CHANNELS)
def channel_list(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    return _page(request, runtime, grant)


@router.post(CHANNELS)
def add_channel(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    type: Annotated[Literal["email", "slack", "webhook"], Form()],
    name: Annotated[str, Form(max_length=200)],
    to: Annotated[str, Form(max_length=4000)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    body: dict[str, Any] = {"type": type, "name": name.strip()}
    if type == "email":
        body["to"] = [a.strip() for a in to.replace(",", "\n").splitlines() if a.strip()]
    else:
        body["url"] = url.strip()
    try:
        draft = _DRAFT.validate_python(body)
        with transaction(runtime.sessions) as session:
            channel, secret = runtime.channels.create(
                session, project_id=grant.project.id, plan=grant.org.plan, draft=draft, user_id=grant.user_id
            )
            made = channels.channel_json(channel, secret=secret)
    except ValidationError as exc:
        return _page(request, runtime, grant, 422, error=problem(exc), form=body)
    except BelvedereError as exc:
        return _page(request, runtime, grant, exc.status, error=exc.message, form=body)
    done = f"Channel {made['name']!r} added: tick it in a rule, or send a test first."
    return _page(request, runtime, grant, notice=done, made=made)


@router.post(CHANNELS + "/{channel_id}/delete")
def delete_channel(
    grant: ProjectMember, request: Request, runtime: RuntimeDep, channel_id: PathId
) -> Response:
    try:
        with transaction(runtime.sessions) as session:
            remove_channel(session, grant.project.id, channel_id)
    except BelvedereError as exc:
        return _page(request, runtime, grant, exc.status, error=exc.message)
    return _page(
        request, runtime, grant, notice="Channel removed; the rules that used it no longer notify it."
    )


@router.post(CHANNELS + "/{channel_id}/test")
def test_channel(grant: ProjectMember, request: Request, runtime: RuntimeDep, channel_id: PathId) -> Response:
    try:
        with transaction(runtime.sessions) as session:
            delivery = send_test(session, runtime, grant, channel_id)
    except BelvedereError as exc:
        return page(request, "_delivery.html", exc.status, error=exc.message)
    return _delivery(request, grant, delivery)


@router.get(CHANNELS + "/deliveries/{delivery_id}")
def delivery_status(
    grant: ProjectViewer, request: Request, runtime: RuntimeDep, delivery_id: PathId
) -> Response:
    """Polled by a test's status until it is sent or has failed for good."""
    try:
        with transaction(runtime.sessions) as session:
            delivery = deliveries.get_delivery(session, grant.project.id, delivery_id)
    except BelvedereError as exc:
        return page(request, "_delivery.html", exc.status, error=exc.message)
    return _delivery(request, grant, delivery)


def _delivery(request: Request, grant: ProjectGrant, delivery: dict[str, Any]) -> Response:
    # 286 tells HTMX to stop polling: the delivery will not change any more.
    final = delivery["status"] in FINAL
    return page(
        request,
        "_delivery.html",
        286 if final else 200,
        project=grant.project,
        d=delivery,
        final=final,
        status_text=words.DELIVERY.get(delivery["status"], delivery["status"]),
        when=words.when(delivery["sent_at"], grant.project.timezone) if delivery["sent_at"] else "",
    )
