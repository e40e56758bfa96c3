"""What the alert routes and pages share: reading metrics through the query desk (the tenant's turn and
limits apply, as to any query) from a worker thread, refusing rules on events never received, a template's
rule, a channel's test message and a channel's removal."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import anyio.from_thread
from pydantic import ValidationError
from sqlalchemy.orm import Session

from belvedere.accounts.grants import ProjectGrant
from belvedere.alerts import service
from belvedere.alerts.models import AlertRule
from belvedere.alerts.rules import RuleDraft, events_named
from belvedere.alerts.templates import BY_ID, Template
from belvedere.notify import channels, deliveries
from belvedere.platform.errors import Invalid
from belvedere.query.kinds import parse_query
from belvedere.query.kinds.trends import TrendsResult
from belvedere.query.runner import QueryResult, QuerySpec
from belvedere.runtime import Runtime

SEEN_DAYS = 90


def desk_ask(runtime: Runtime, grant: ProjectGrant) -> Callable[[QuerySpec], QueryResult]:
    """A synchronous ``ask`` for the alert service, from a route's worker thread, through the query desk."""

    def ask(spec: QuerySpec) -> QueryResult:
        return anyio.from_thread.run(lambda: runtime.desk.ask(grant, spec, patient=True))

    return ask


async def check_events(runtime: Runtime, grant: ProjectGrant, draft: RuleDraft) -> None:
    """Refuse a rule that counts an event the project has not received in the last 90 days: a typo would
    otherwise watch zero forever."""
    for name in events_named(draft.series):
        spec = parse_query(
            {
                "kind": "trends",
                "date_from": f"-{SEEN_DAYS}d",
                "interval": "month",
                "series": [{"event": name}],
            }
        )
        result = await runtime.desk.ask(grant, spec, patient=True)
        assert isinstance(result, TrendsResult)
        if not any(result.series[0].data):
            raise Invalid(
                f"this project received no {name!r} event in the last {SEEN_DAYS} days: check the name, or "
                "send one first",
                code="unknown_event",
            )


def template_draft(
    template_id: str, parameters: dict[str, Any], channel_ids: list[int]
) -> tuple[Template, RuleDraft]:
    """A template's rule with the given parameters, or why they do not make one (API and pages)."""
    template = BY_ID.get(template_id)
    if template is None:
        raise Invalid(f"no template {template_id!r}: one of {', '.join(BY_ID)}")
    try:
        return template, template.build(parameters, channel_ids)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Invalid(f"the template's parameters do not make a rule: {where}: {first['msg']}") from None
    except ValueError as exc:
        raise Invalid(f"the template's parameters do not make a rule: {exc}") from None


def send_test(session: Session, runtime: Runtime, grant: ProjectGrant, channel_id: int) -> dict[str, Any]:
    """Queue a test message through one of the project's channels; its delivery, as the API shows it."""
    channel = channels.get_channel(session, grant.project.id, channel_id)
    message = {
        "kind": "test",
        "title": f"Test from Belvedere: {channel.name}",
        "text": f"This channel of {grant.project.name} works: alerts will arrive here.",
        "project_id": grant.project.id,
    }
    delivery = deliveries.queue(
        session,
        runtime.jobs,
        channel=channel,
        kind="test",
        message=message,
        key=f"test:{channel.id}:{uuid.uuid4()}",
        org_id=grant.org.id,
    )
    return deliveries.delivery_json(delivery, channel.name)


def remove_channel(session: Session, project_id: int, channel_id: int) -> None:
    """Delete a channel; the rules that named it forget it."""
    channels.delete_channel(session, project_id, channel_id)
    service.forget_channel(session, project_id, channel_id)


async def create_rule(
    runtime: Runtime, grant: ProjectGrant, session: Session, draft: RuleDraft, template: str | None = None
) -> AlertRule:
    """A new rule of the project: the plan's feature, its events received, then the use case."""
    runtime.plans.require_feature(grant.org.plan, service.FEATURE)  # before asking the store anything
    await check_events(runtime, grant, draft)
    return runtime.alerts.create(
        session,
        org_id=grant.org.id,
        plan=grant.org.plan,
        project_id=grant.project.id,
        draft=draft,
        user_id=grant.user_id,
        template=template,
    )
