"""The one way an insight is asked for a tenant — by the API, the pages and the dashboards alike: the plan
feature its kind needs, its time limit (waiting included), a turn at the gate, the answer, and refusals as
the one error hierarchy (``platform.errors``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from functools import partial

from anyio import to_thread

from belvedere.accounts.grants import ProjectGrant
from belvedere.accounts.plans import Plans
from belvedere.platform.errors import Invalid, TooMany, Unavailable
from belvedere.query.dates import DateRangeError
from belvedere.query.gate import Lane, QueryBusy, QueryGate, QueryTimedOut
from belvedere.query.runner import QueryError, QueryResult, QueryService, QuerySpec, runner_of

# How long an answer asked ahead (``ask_ahead``) waits to be claimed: a page's panels ask within a second of
# the page; one never claimed is dropped.
AHEAD_SECONDS = 10.0
# Answers under way ahead at once for one organisation: two overviews' panels. They wait at the gate without
# counting against its bounds, so this bound is what keeps them few.
AHEAD_PER_TENANT = 10


def lane_of(kind: object) -> Lane:
    runner = runner_of(kind)
    return runner.lane if runner is not None else "insights"


class QueryDesk:
    def __init__(self, service: QueryService, gate: QueryGate, plans: Plans) -> None:
        self.service = service
        self.gate = gate
        self.plans = plans
        # Answers being computed, or computed, ahead of the question (``ask_ahead``): (task, when asked).
        self._ahead: dict[Hashable, tuple[asyncio.Task[QueryResult], float]] = {}
        self._unfinished: set[asyncio.Task[QueryResult]] = set()  # claimed or not
        self._ahead_of: dict[int, int] = {}  # answers under way ahead, per organisation

    def ask_ahead(self, grant: ProjectGrant, spec: QuerySpec) -> None:
        """Start answering, now, a question that a page is about to ask (the overview's panels, which the
        browser asks for once it has the page): the first ``ask`` of the same question by the same project
        within ``AHEAD_SECONDS`` takes this answer, waiting for it if need be, instead of asking again. The
        store runs the panels' statements while the page travels and the browser sends for
        them, and the claimed answer is of the same moment as the page's own figures, whatever was written
        since. It is speculative at the gate: it waits for the tenant's room like a page's question but is
        not counted against the bounds on waiting questions, so it never gets a real one refused
        (``QueryGate.turn``); at most ``AHEAD_PER_TENANT`` are under way per organisation, past which
        nothing is asked ahead (the panels then ask for themselves, within the bounds)."""
        self._forget_unclaimed()
        key = (grant.project.id, spec.model_dump_json())
        if key in self._ahead or self._ahead_of.get(grant.org.id, 0) >= AHEAD_PER_TENANT:
            return
        task = asyncio.ensure_future(self._ask(grant, spec, patient=True, claim=False, speculative=True))
        org = grant.org.id
        self._ahead_of[org] = self._ahead_of.get(org, 0) + 1
        task.add_done_callback(_retrieved)
        task.add_done_callback(self._unfinished.discard)
        task.add_done_callback(lambda _: self._done_ahead(org))
        self._ahead[key] = (task, time.monotonic())
        self._unfinished.add(task)

    def _done_ahead(self, org: int) -> None:
        left = self._ahead_of.get(org, 0) - 1
        if left > 0:
            self._ahead_of[org] = left
        else:
            self._ahead_of.pop(org, None)

    async def settle(self) -> None:
        """At shutdown, before the store closes: the answers asked ahead and not yet begun are dropped, and
        those the store is computing are waited for (a statement cannot be left running on a closing
        store)."""
        tasks = list(self._unfinished)
        self._ahead.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget_unclaimed(self) -> None:
        stale = time.monotonic() - AHEAD_SECONDS
        for key in [k for k, (_, asked) in self._ahead.items() if asked < stale]:
            del self._ahead[key]

    async def _claim(self, grant: ProjectGrant, spec: QuerySpec, deadline: float) -> QueryResult | None:
        """The answer asked ahead for this question, once; None if there is none, or it failed (the
        question is then asked as if there had been none)."""
        self._forget_unclaimed()
        found = self._ahead.pop((grant.project.id, spec.model_dump_json()), None)
        if found is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(found[0]), max(0.0, deadline - time.monotonic()))
        except Exception:  # refused, out of time or failed ahead: asked again, as itself
            return None

    def admit(self, grant: ProjectGrant, kind: object) -> None:
        """Refuse now (``TooMany``) a query the tenant has no room for: before its body is even validated."""
        try:
            self.gate.check(tenant=grant.org.id, lane=lane_of(kind))
        except QueryBusy as exc:
            raise busy(exc) from None

    async def ask(self, grant: ProjectGrant, spec: QuerySpec, *, patient: bool = False) -> QueryResult:
        """The answer to ``spec`` on the grant's project. ``patient`` (pages): wait for the tenant's room
        rather than be refused at once (``query.gate``)."""
        return await self._ask(grant, spec, patient=patient, claim=True)

    async def _ask(
        self, grant: ProjectGrant, spec: QuerySpec, *, patient: bool, claim: bool, speculative: bool = False
    ) -> QueryResult:
        runner = runner_of(spec.kind)
        assert runner is not None, spec.kind
        if runner.feature is not None:
            self.plans.require_feature(grant.org.plan, runner.feature)
        # The time limit starts now: waiting for a turn counts (see query.gate).
        deadline = time.monotonic() + self.service.time_limit(spec)
        if claim and self._ahead:
            claimed = await self._claim(grant, spec, deadline)
            if claimed is not None:
                return claimed
        project = grant.project
        try:
            async with self.gate.turn(
                tenant=grant.org.id,
                lane=runner.lane,
                deadline=deadline,
                patient=patient,
                speculative=speculative,
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


def _retrieved(task: asyncio.Task[QueryResult]) -> None:
    """An answer asked ahead may fail unclaimed (refused at the gate, out of time): nobody else reads it."""
    if not task.cancelled():
        task.exception()


def busy(exc: QueryBusy) -> TooMany:
    return TooMany(str(exc), code="busy", headers={"Retry-After": str(exc.retry_after)})
