"""The rule editor (new and edit) with its live preview: the backtest of the rule as typed over its last
complete buckets, redrawn as the form changes (HTMX posts the form to ``/alerts/preview``). A form that does
not make a rule says why next to it, as the API would refuse it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError

from belvedere.accounts.grants import ProjectGrant
from belvedere.alerts import service
from belvedere.alerts.evaluate import PreviewPoint
from belvedere.alerts.rules import INTERVALS, STATS, RuleDraft
from belvedere.notify import channels
from belvedere.platform.db import transaction
from belvedere.platform.errors import BelvedereError
from belvedere.runtime import Runtime
from belvedere.web.access import ProjectMember, ProjectViewer, RuntimeDep
from belvedere.web.alerting import check_events, create_rule, desk_ask
from belvedere.web.ids import PathId
from belvedere.web.pages import alert_views as words
from belvedere.web.pages.alert_forms import METRIC_KINDS, RuleForm, problem
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect
from belvedere.web.pages.trends_pages import MATHS

router = APIRouter(include_in_schema=False)
ALERTS = "/app/projects/{project_id}/alerts"


def _editor(
    request: Request,
    runtime: Runtime,
    grant: ProjectGrant,
    form: RuleForm,
    rule_id: int | None,
    status: int = 200,
    **extra: Any,
) -> Response:
    with transaction(runtime.sessions) as session:
        found = [channels.channel_json(c) for c in channels.list_channels(session, grant.project.id)]
    return page(
        request,
        "alert_edit.html",
        status,
        **nav(runtime, grant),
        project=grant.project,
        form=form,
        rule_id=rule_id,
        channels=found,
        metric_kinds=METRIC_KINDS,
        maths=MATHS,
        stats={s: words.stat_label(s) for s in STATS},
        intervals={i: words.INTERVALS[i] for i in INTERVALS},
        **extra,
    )


@router.get(ALERTS + "/new")
def new_rule(grant: ProjectMember, request: Request, runtime: RuntimeDep) -> Response:
    return _editor(request, runtime, grant, RuleForm(), None)


@router.post(ALERTS + "/new")
async def create(grant: ProjectMember, request: Request, runtime: RuntimeDep) -> Response:
    form = RuleForm.read(await request.form())
    try:
        draft = form.draft()
        with transaction(runtime.sessions) as session:
            rule_id = (await create_rule(runtime, grant, session, draft)).id
    except (ValueError, ValidationError) as exc:
        return _editor(request, runtime, grant, form, None, 422, error=problem(exc))
    except BelvedereError as exc:
        return _editor(request, runtime, grant, form, None, exc.status, error=exc.message)
    return redirect(f"/app/projects/{grant.project.id}/alerts/{rule_id}?created=1", request)


@router.get(ALERTS + "/{rule_id}/edit")
def edit_rule(grant: ProjectMember, request: Request, runtime: RuntimeDep, rule_id: PathId) -> Response:
    try:
        with transaction(runtime.sessions) as session:
            rule = service.rule_json(service.get_rule(session, grant.project.id, rule_id))
    except BelvedereError as exc:
        return page(request, "error.html", exc.status, title="Not found", message=exc.message)
    return _editor(request, runtime, grant, RuleForm.of(rule), rule_id)


@router.post(ALERTS + "/{rule_id}/edit")
async def save(grant: ProjectMember, request: Request, runtime: RuntimeDep, rule_id: PathId) -> Response:
    form = RuleForm.read(await request.form())
    try:
        draft = form.draft()
        await check_events(runtime, grant, draft)
        with transaction(runtime.sessions) as session:
            runtime.alerts.update(session, project_id=grant.project.id, rule_id=rule_id, draft=draft)
    except (ValueError, ValidationError) as exc:
        return _editor(request, runtime, grant, form, rule_id, 422, error=problem(exc))
    except BelvedereError as exc:
        if exc.status == 404:
            return page(request, "error.html", 404, title="Not found", message=exc.message)
        return _editor(request, runtime, grant, form, rule_id, exc.status, error=exc.message)
    return redirect(f"/app/projects/{grant.project.id}/alerts/{rule_id}", request)


# --- the preview ---------------------------------------------------------------------------------------


def _backtest(runtime: Runtime, grant: ProjectGrant, draft: RuleDraft, buckets: int) -> list[PreviewPoint]:
    """Runs on a worker thread: the desk is asked from there (``desk_ask``)."""
    with transaction(runtime.sessions) as session:
        return runtime.alerts.preview(
            session,
            org_id=grant.org.id,
            project_id=grant.project.id,
            draft=draft,
            ask=desk_ask(runtime, grant),
            at=None,
            buckets=buckets,
        )


async def preview_fragment(
    request: Request, runtime: Runtime, grant: ProjectGrant, draft: RuleDraft, buckets: int
) -> Response:
    """The preview of a draft: its events known, then the backtest drawn with its threshold."""
    try:
        await check_events(runtime, grant, draft)
        points = await run_in_threadpool(_backtest, runtime, grant, draft, buckets)
    except BelvedereError as exc:
        return page(request, "_alert_preview.html", 200, error=exc.message)
    condition = draft.condition.model_dump(mode="json")
    tz = grant.project.timezone
    return page(
        request,
        "_alert_preview.html",
        points=points,
        fired=sum(p.fired for p in points),
        chart=words.preview_chart(points, condition, draft.interval, tz),
        bucket=words.BUCKET[draft.interval],
        first=words.bucket_words(points[0].start, draft.interval, tz) if points else "",
        last=words.bucket_words(points[-1].start, draft.interval, tz) if points else "",
        label=lambda p: words.bucket_words(p.start, draft.interval, tz),
        number=words.number,
        words=words.condition_words(condition, draft.interval),
    )


@router.post(ALERTS + "/preview")
async def preview(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    form = RuleForm.read(await request.form())
    try:
        draft = form.draft()
    except (ValueError, ValidationError) as exc:
        return page(request, "_alert_preview.html", 200, error=problem(exc))
    return await preview_fragment(request, runtime, grant, draft, form.buckets)
