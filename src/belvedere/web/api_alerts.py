"""Alert rules and their channels through the API (``alerts.service``, ``notify.channels``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from belvedere.alerts import service
from belvedere.alerts.rules import RuleDraft
from belvedere.alerts.templates import TEMPLATES, FromTemplate
from belvedere.notify import channels
from belvedere.platform.errors import Invalid
from belvedere.web.access import ProjectMember, ProjectViewer, RuntimeDep, SessionDep
from belvedere.web.alerting import (
    check_events,
    create_rule,
    desk_ask,
    remove_channel,
    send_test,
    template_draft,
)
from belvedere.web.ids import PathId

router = APIRouter(prefix="/api/v1/projects/{project_id}", tags=["alerts"])


class EvaluateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime | None = Field(
        None, description="Evaluate as of this moment (its complete buckets); default now."
    )


class PreviewBody(RuleDraft):
    name: str = Field("Preview", min_length=1, max_length=200)
    buckets: int = Field(24, ge=1, le=100, description="How many complete buckets to replay.")
    at: datetime | None = None


class MuteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    until: datetime | None = Field(description="Notify no one until then; null unmutes.")


# --- channels ------------------------------------------------------------------------------------------


@router.post("/alert-channels", status_code=201, summary="Add a notification channel (email, Slack, webhook)")
def create_channel(
    body: channels.ChannelDraft, grant: ProjectMember, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    channel, secret = runtime.channels.create(
        session, project_id=grant.project.id, plan=grant.org.plan, draft=body, user_id=grant.user_id
    )
    return channels.channel_json(channel, secret=secret)


@router.get("/alert-channels", summary="The project's notification channels")
def list_channels(grant: ProjectViewer, session: SessionDep) -> dict[str, Any]:
    return {"results": [channels.channel_json(c) for c in channels.list_channels(session, grant.project.id)]}


@router.get("/alert-channels/{channel_id}", summary="One channel")
def get_channel(channel_id: PathId, grant: ProjectViewer, session: SessionDep) -> dict[str, Any]:
    return channels.channel_json(channels.get_channel(session, grant.project.id, channel_id))


@router.patch(
    "/alert-channels/{channel_id}", summary="Rename a channel, change where it sends, rotate its secret"
)
def update_channel(
    channel_id: PathId,
    body: channels.ChannelPatch,
    grant: ProjectMember,
    runtime: RuntimeDep,
    session: SessionDep,
) -> dict[str, Any]:
    channel, secret = runtime.channels.update(
        session, project_id=grant.project.id, channel_id=channel_id, patch=body
    )
    return channels.channel_json(channel, secret=secret)


@router.delete("/alert-channels/{channel_id}", status_code=204, summary="Delete a channel (rules forget it)")
def delete_channel(channel_id: PathId, grant: ProjectMember, session: SessionDep) -> Response:
    remove_channel(session, grant.project.id, channel_id)
    return Response(status_code=204)


@router.post(
    "/alert-channels/{channel_id}/test", status_code=202, summary="Send a test message through a channel"
)
def test_channel(
    channel_id: PathId, grant: ProjectMember, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    return {"delivery": send_test(session, runtime, grant, channel_id)}


# --- rules ---------------------------------------------------------------------------------------------


@router.get("/alerts/templates", summary="Built-in rules to start from")
def list_templates(grant: ProjectViewer) -> dict[str, Any]:
    return {"results": [t.as_json() for t in TEMPLATES]}


@router.post("/alerts", status_code=201, summary="Create an alert rule")
async def create_alert(
    body: RuleDraft, grant: ProjectMember, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    rule = await create_rule(runtime, grant, session, body)
    return service.rule_json(rule)


@router.post("/alerts/from-template", status_code=201, summary="Create an alert rule from a template")
async def create_from_template(
    body: FromTemplate, grant: ProjectMember, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    runtime.plans.require_feature(grant.org.plan, service.FEATURE)
    template, draft = template_draft(body.template, body.parameters, body.channels)
    rule = await create_rule(runtime, grant, session, draft, template=template.id)
    return service.rule_json(rule)


@router.post("/alerts/preview", summary="Backtest a draft rule over its last buckets (notifies no one)")
def preview_alert(
    body: PreviewBody, grant: ProjectViewer, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    draft = RuleDraft.model_validate(body.model_dump(exclude={"buckets", "at"}))
    points = runtime.alerts.preview(
        session,
        org_id=grant.org.id,
        project_id=grant.project.id,
        draft=draft,
        ask=desk_ask(runtime, grant),
        at=body.at,
        buckets=body.buckets,
    )
    return {"points": [p.as_json() for p in points], "fired": sum(p.fired for p in points)}


@router.get("/alerts", summary="The project's alert rules, with their state")
def list_alerts(grant: ProjectViewer, session: SessionDep) -> dict[str, Any]:
    return {"results": [service.rule_json(r) for r in service.list_rules(session, grant.project.id)]}


@router.get("/alerts/{rule_id}", summary="One alert rule, with its state")
def get_alert(rule_id: PathId, grant: ProjectViewer, session: SessionDep) -> dict[str, Any]:
    return service.rule_json(service.get_rule(session, grant.project.id, rule_id))


@router.patch("/alerts/{rule_id}", summary="Change an alert rule (what is not sent is kept)")
async def update_alert(
    rule_id: PathId, body: dict[str, Any], grant: ProjectMember, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    current = service.rule_json(service.get_rule(session, grant.project.id, rule_id))
    fields = set(RuleDraft.model_fields)
    merged = {k: v for k, v in current.items() if k in fields and v is not None} | body
    try:
        draft = RuleDraft.model_validate(merged)
    except ValidationError as exc:
        raise Invalid(
            "the rule is not valid", details=exc.errors(include_url=False, include_context=False)
        ) from None
    await check_events(runtime, grant, draft)
    rule = runtime.alerts.update(session, project_id=grant.project.id, rule_id=rule_id, draft=draft)
    return service.rule_json(rule)


@router.delete("/alerts/{rule_id}", status_code=204, summary="Delete an alert rule and its history")
def delete_alert(rule_id: PathId, grant: ProjectMember, session: SessionDep) -> Response:
    service.delete_rule(session, grant.project.id, rule_id)
    return Response(status_code=204)


@router.post("/alerts/{rule_id}/evaluate", summary="Evaluate now, or as of a moment, notifying as live")
def evaluate_alert(
    rule_id: PathId,
    grant: ProjectMember,
    runtime: RuntimeDep,
    session: SessionDep,
    body: EvaluateBody | None = None,
) -> dict[str, Any]:
    rule, evaluated = runtime.alerts.evaluate_now(
        session,
        org_id=grant.org.id,
        project_id=grant.project.id,
        rule_id=rule_id,
        ask=desk_ask(runtime, grant),
        at=body.at if body else None,
    )
    return {
        "evaluated": evaluated,
        "state": rule.state,
        "value": rule.last_value,
        "rule": service.rule_json(rule),
    }


@router.get("/alerts/{rule_id}/history", summary="The rule's changes of state, newest first")
def alert_history(
    rule_id: PathId,
    grant: ProjectViewer,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    events = service.history(session, grant.project.id, rule_id, limit)
    return {"results": [service.event_json(e) for e in events]}


@router.get("/alerts/{rule_id}/deliveries", summary="The rule's notifications and how their delivery went")
def alert_deliveries(rule_id: PathId, grant: ProjectViewer, session: SessionDep) -> dict[str, Any]:
    return {"results": service.deliveries_of(session, grant.project.id, rule_id)}


@router.post(
    "/alerts/{rule_id}/acknowledge", summary="Acknowledge a firing alert (stops reminders, escalation)"
)
def acknowledge_alert(
    rule_id: PathId, grant: ProjectMember, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    rule = runtime.alerts.acknowledge(
        session, project_id=grant.project.id, rule_id=rule_id, user_id=grant.user_id
    )
    return service.rule_json(rule)


@router.post("/alerts/{rule_id}/mute", summary="Mute a rule until a moment (null: unmute)")
def mute_alert(
    rule_id: PathId, body: MuteBody, grant: ProjectMember, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    rule = runtime.alerts.mute(session, project_id=grant.project.id, rule_id=rule_id, until=body.until)
    return service.rule_json(rule)
