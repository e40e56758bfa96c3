"""The Alerts page (each rule with its state, last value and sparkline; the templates, created in one click
with a preview) and an alert's own page (its history, its deliveries, and acknowledge, mute, evaluate now,
delete). Thin forms over ``alerts.service``, the same use cases as the JSON API (``web.alerting``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from belvedere.accounts.grants import ProjectGrant
from belvedere.accounts.models import User
from belvedere.accounts.roles import at_least
from belvedere.alerts import service
from belvedere.alerts.templates import BY_ID, TEMPLATES
from belvedere.notify import channels
from belvedere.platform.db import transaction
from belvedere.platform.errors import BelvedereError
from belvedere.runtime import Runtime
from belvedere.web.access import ProjectMember, ProjectViewer, RuntimeDep
from belvedere.web.alerting import create_rule, desk_ask, template_draft
from belvedere.web.ids import PathId
from belvedere.web.pages import alert_views as words
from belvedere.web.pages.alert_editor import preview_fragment
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect

router = APIRouter(include_in_schema=False)
ALERTS = "/app/projects/{project_id}/alerts"
MUTES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}


def _channels(session: Session, project_id: int) -> list[dict[str, Any]]:
    return [channels.channel_json(c) for c in channels.list_channels(session, project_id)]


def _summary(rule: dict[str, Any], timezone: str) -> dict[str, Any]:
    """What the list and the detail say of a rule, beside its JSON."""
    muted = rule["muted_until"] and datetime.fromisoformat(rule["muted_until"]) > datetime.now(UTC)
    return {
        **rule,
        "words": words.rule_words(rule),
        "metric_words": words.metric_words(rule["series"]),
        "condition_words": words.condition_words(rule["condition"], rule["interval"]),
        "state_label": words.STATES.get(rule["state"], rule["state"]),
        "value_text": words.number(rule["last_value"]) if rule["last_bucket"] else "not evaluated yet",
        "bucket_text": words.bucket_words(rule["last_bucket"], rule["interval"], timezone),
        "spark": words.sparkline(rule, timezone),
        "recent_chart": words.recent_chart(rule, timezone),
        "muted": bool(muted),
    }


def _alerts_enabled(runtime: Runtime, grant: ProjectGrant) -> bool:
    return service.FEATURE in runtime.plans.get(grant.org.plan).features


def _list(
    request: Request, runtime: Runtime, grant: ProjectGrant, status: int = 200, **extra: Any
) -> Response:
    tz = grant.project.timezone
    with transaction(runtime.sessions) as session:
        rules = [_summary(service.rule_json(r), tz) for r in service.list_rules(session, grant.project.id)]
        found = _channels(session, grant.project.id)
    return page(
        request,
        "alerts.html",
        status,
        **nav(runtime, grant),
        project=grant.project,
        rules=rules,
        templates=TEMPLATES,
        channels=found,
        enabled=_alerts_enabled(runtime, grant),
        can_edit=at_least(grant.role, "member"),
        **extra,
    )


@router.get(ALERTS)
def alert_list(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    return _list(request, runtime, grant)


def _template_values(form: FormData) -> tuple[str, dict[str, Any], list[int]]:
    """The template named by the form, its parameters (``p_<name>``) and the channels ticked."""
    template = str(form.get("template") or "")
    known = BY_ID.get(template)
    names = [p.name for p in known.parameters] if known else []
    values = {n: str(form.get(f"p_{n}") or "").strip() for n in names if form.get(f"p_{n}") is not None}
    ids = [int(v) for v in form.getlist("channels") if isinstance(v, str) and v.isdigit()][:10]
    return template, values, ids


@router.post(ALERTS + "/templates")
async def create_from_template(grant: ProjectMember, request: Request, runtime: RuntimeDep) -> Response:
    template_id, values, ids = _template_values(await request.form())
    try:
        template, draft = template_draft(template_id, values, ids)
        with transaction(runtime.sessions) as session:
            rule = await create_rule(runtime, grant, session, draft, template=template.id)
            rule_id = rule.id
    except BelvedereError as exc:
        return _list(request, runtime, grant, exc.status, error=exc.message, error_for=template_id)
    return redirect(f"/app/projects/{grant.project.id}/alerts/{rule_id}?created=1", request)


@router.post(ALERTS + "/templates/preview")
async def preview_template(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    """The backtest of a template with the parameters typed: where it would have fired."""
    template_id, values, ids = _template_values(await request.form())
    try:
        _, draft = template_draft(template_id, values, ids)
    except BelvedereError as exc:
        return page(request, "_alert_preview.html", 200, error=exc.message)
    return await preview_fragment(request, runtime, grant, draft, 14)


# --- one alert -----------------------------------------------------------------------------------------


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    found = {i: session.get(User, i) for i in ids if i is not None}
    return {i: (u.name or u.email) for i, u in found.items() if u is not None}


def _detail(
    request: Request, runtime: Runtime, grant: ProjectGrant, rule_id: int, status: int = 200, **extra: Any
) -> Response:
    tz = grant.project.timezone
    with transaction(runtime.sessions) as session:
        rule = _summary(service.rule_json(service.get_rule(session, grant.project.id, rule_id)), tz)
        history = [service.event_json(e) for e in service.history(session, grant.project.id, rule_id)]
        sent = service.deliveries_of(session, grant.project.id, rule_id)
        found = {c["id"]: c for c in _channels(session, grant.project.id)}
        people = _names(session, {e["actor"] for e in history if e["actor"]} | {rule["acknowledged_by"]})
    return page(
        request,
        "alert.html",
        status,
        **nav(runtime, grant),
        project=grant.project,
        rule=rule,
        history=history,
        deliveries=sent,
        channels=found,
        people=people,
        words=words,
        can_edit=at_least(grant.role, "member"),
        created=request.query_params.get("created") == "1",
        **extra,
    )


@router.get(ALERTS + "/{rule_id}")
def alert_detail(grant: ProjectViewer, request: Request, runtime: RuntimeDep, rule_id: PathId) -> Response:
    try:
        return _detail(request, runtime, grant, rule_id)
    except BelvedereError as exc:
        return page(request, "error.html", exc.status, title="Not found", message=exc.message)


def _act(
    request: Request,
    runtime: Runtime,
    grant: ProjectGrant,
    rule_id: int,
    act: Callable[[Session], str | None],
    done: str,
) -> Response:
    """Run one use case on the rule; show its page again with what happened, or why not."""
    try:
        with transaction(runtime.sessions) as session:
            said = act(session)
    except BelvedereError as exc:
        if exc.status == 404:
            return page(request, "error.html", 404, title="Not found", message=exc.message)
        return _detail(request, runtime, grant, rule_id, exc.status, error=exc.message)
    return _detail(request, runtime, grant, rule_id, notice=said or done)


@router.post(ALERTS + "/{rule_id}/acknowledge")
def acknowledge(grant: ProjectMember, request: Request, runtime: RuntimeDep, rule_id: PathId) -> Response:
    def ack(session: Session) -> None:
        runtime.alerts.acknowledge(
            session, project_id=grant.project.id, rule_id=rule_id, user_id=grant.user_id
        )

    done = "Acknowledged: no more reminders or escalation; it resolves once the metric is back."
    return _act(request, runtime, grant, rule_id, ack, done)


@router.post(ALERTS + "/{rule_id}/mute")
def mute(
    grant: ProjectMember,
    request: Request,
    runtime: RuntimeDep,
    rule_id: PathId,
    until: Annotated[Literal["1h", "24h", "off"], Form()],
) -> Response:
    moment = datetime.now(UTC) + MUTES[until] if until in MUTES else None

    def act(session: Session) -> None:
        runtime.alerts.mute(session, project_id=grant.project.id, rule_id=rule_id, until=moment)

    done = (
        f"Muted until {words.when(moment, grant.project.timezone)}: still evaluated, notifying no one."
        if moment
        else "Unmuted: its next changes notify its channels."
    )
    return _act(request, runtime, grant, rule_id, act, done)


@router.post(ALERTS + "/{rule_id}/evaluate")
def evaluate(grant: ProjectMember, request: Request, runtime: RuntimeDep, rule_id: PathId) -> Response:
    """Read the newest complete bucket now (notifying as the minute's tick would)."""
    tz = grant.project.timezone

    def act(session: Session) -> str:
        rule, changed = runtime.alerts.evaluate_now(
            session,
            org_id=grant.org.id,
            project_id=grant.project.id,
            rule_id=rule_id,
            ask=desk_ask(runtime, grant),
            at=None,
        )
        bucket = f"{words.BUCKET[rule.interval]} {words.bucket_words(rule.last_bucket, rule.interval, tz)}"
        if not changed:
            return (
                f"The newest complete {bucket} was evaluated already; the next one is read once it is over."
            )
        state = words.STATES.get(rule.state, rule.state)
        value = words.number(rule.last_value)
        return f"Evaluated the {bucket}, the newest complete one: {value}. State: {state}."

    return _act(request, runtime, grant, rule_id, act, "")


@router.post(ALERTS + "/{rule_id}/delete")
def delete(grant: ProjectMember, request: Request, runtime: RuntimeDep, rule_id: PathId) -> Response:
    try:
        with transaction(runtime.sessions) as session:
            service.delete_rule(session, grant.project.id, rule_id)
    except BelvedereError as exc:
        return page(request, "error.html", exc.status, title="Cannot delete this alert", message=exc.message)
    return redirect(f"/app/projects/{grant.project.id}/alerts", request)
