"""The one way an insight is asked for a tenant — by the API, the pages and the dashboards alike: the plan
feature its kind needs, its time limit (waiting included), a turn at the gate, the answer, and refusals as
the one error hierarchy (``platform.errors``)."""

from __future__ import annotations

import time
from functools import partial

from anyio import to_thread

from belvedere.accounts.grants import ProjectGrant
from belvedere.accounts.plans import Plans
from belvedere.platform.errors import Invalid, TooMany, Unavailable
from belvedere.query.dates import DateRangeError
from belvedere.query.gate import Lane, QueryBusy, QueryGate, QueryTimedOut
from belvedere.query.runner import QueryError, QueryResult, QueryService, QuerySpec, runner_of


def lane_of(kind: object) -> Lane:
    runner = runner_of(kind)
    return runner.lane if runner is not None else "insights"


class QueryDesk:
    def __init__(self, service: QueryService, gate: QueryGate, plans: Plans) -> None:
        self.service = service
        self.gate = gate
        self.plans = plans

    def admit(self, grant: ProjectGrant, kind: object) -> None:
        """Refuse now (``TooMany``) a query the tenant has no room for: before its body is even validated."""
        try:
            self.gate.check(tenant=grant.org.id, lane=lane_of(kind))
        except QueryBusy as exc:
            raise busy(exc) from None

    async def ask(self, grant: ProjectGrant, spec: QuerySpec, *, patient: bool = False) -> QueryResult:
        """The answer to ``spec`` on the grant's project. ``patient`` (pages): wait for the tenant's room
        rather than be refused at once (``query.gate``)."""
        runner = runner_of(spec.kind)
        assert runner is not None, spec.kind
        if runner.feature is not None:
            self.plans.require_feature(grant.org.plan, runner.feature)
        # The time limit starts now: waiting for a turn counts (see query.gate).
        deadline = time.monotonic() + self.service.time_limit(spec)
        project = grant.project
        try:
            async with self.gate.turn(
                tenant=grant.org.id, lane=runner.lane, deadline=deadline, patient=patient
            ):
                run = partial(
                    self.service.run,
                    spec,
                    project_id=project.id,
                    timezone=project.timezone,
                    deadline=deadline,
                )
                return await to_thread.run_sync(run)
        except (DateRangeError, QueryError) as exc:
            raise Invalid(str(exc)) from None
        except QueryBusy as exc:
            raise busy(exc) from None
        except QueryTimedOut as exc:
            raise Unavailable(
                f"the query did not finish within its time limit ({exc}); narrow it, or retry later",
                code="query_timeout",
                headers={"Retry-After": "5"},
            ) from None


def busy(exc: QueryBusy) -> TooMany:
    return TooMany(str(exc), code="busy", headers={"Retry-After": str(exc.retry_after)})
