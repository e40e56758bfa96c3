"""Who may query the event store now: lanes, a bound per tenant, a bounded queue, and deadlines.

Queries wait their turn in the event loop, not on a thread: a request that waits holds no worker thread, so
a flood of slow queries cannot starve logins, health checks or capture of threads. Three rules keep one
tenant from stalling the others:

- **Lanes.** User SQL has a lane of its own, beside the insights lane that dashboards and pages use, each
  with its own turns in the store: a dashboard never waits behind someone's SQL.
- **A bound per tenant.** An organisation may have only so many queries running or waiting for a turn in a
  lane. One more from the API is refused at once (429 with ``Retry-After``) instead of joining the queue;
  one from a page (``patient``: a person looking at a dashboard whose widgets load together) waits for the
  tenant's room, behind the tenant's own queries, never ahead of other tenants'.
- **A bounded queue.** A lane's waiting line has a length, and so has its line of patient queries waiting
  for their tenant's room, where one tenant may have at most ``PATIENT_PER_PLACE`` waiting per place of its
  room (so one organisation's flood of page loads cannot fill the line for the others); past any, 429 too.

A query's deadline starts when it arrives, so time spent waiting counts: one that cannot start before its
deadline is refused (503), and one that starts gets only what is left of it (see ``QueryContext.deadline``).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from belvedere.store.base import QueryTimedOut

Lane = Literal["insights", "sql"]

__all__ = ["GateLimits", "Lane", "QueryBusy", "QueryGate", "QueryTimedOut"]


class QueryBusy(Exception):
    """Refused before it waited: the tenant has too many queries in the lane, or the lane's queue is full."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class GateLimits:
    per_tenant: int = 4  # queries running or waiting, per organisation and lane
    queue: int = 64  # queries waiting, per lane
    retry_after_seconds: int = 2


PATIENT_PER_PLACE = 3  # 4 places: 12 page queries may wait, two tabs of an overview and its panels


class QueryGate:
    def __init__(self, slots: dict[Lane, int], limits: GateLimits | None = None) -> None:
        self.limits = limits or GateLimits()
        self._slots = dict(slots)
        self._turns: dict[Lane, asyncio.Semaphore] = {}
        # Per (lane, tenant): its room (``per_tenant`` places), and how many hold or wait for a place.
        self._rooms: dict[tuple[Lane, int], asyncio.Semaphore] = {}
        self._in_room: Counter[tuple[Lane, int]] = Counter()
        self._waiting: Counter[Lane] = Counter()  # for a turn
        self._patient: Counter[Lane] = Counter()  # for their tenant's room
        self._patient_of: Counter[tuple[Lane, int]] = Counter()

    def _semaphore(self, lane: Lane) -> asyncio.Semaphore:
        # Made on first use, inside the running loop (a semaphore belongs to one loop).
        if lane not in self._turns:
            self._turns[lane] = asyncio.Semaphore(self._slots[lane])
        return self._turns[lane]

    @asynccontextmanager
    async def turn(
        self,
        *,
        tenant: int,
        lane: Lane,
        deadline: float,
        patient: bool = False,
        speculative: bool = False,
    ) -> AsyncIterator[None]:
        """Hold one of ``lane``'s turns for ``tenant`` while the block runs; ``deadline`` is a
        ``time.monotonic()`` instant. ``patient``: wait for the tenant's room rather than be refused.
        ``speculative`` (a question asked ahead of the page that will ask it, ``QueryDesk.ask_ahead``): waits
        like a patient one but is not counted against the bounds on waiting queries, so that work done ahead
        never gets one of the tenant's real questions refused. (Its number is bounded where it is asked: one
        per panel of a page, once per project and question.)"""
        key = (lane, tenant)
        if speculative:
            pass
        elif patient:
            if self._patient_of[key] >= PATIENT_PER_PLACE * self.limits.per_tenant:
                raise QueryBusy(
                    f"this organisation already has {self._patient_of[key]} {lane} queries waiting; retry"
                    " when they have been answered",
                    self.limits.retry_after_seconds,
                )
            if self._patient[lane] >= self.limits.queue:
                raise QueryBusy(f"the {lane} queue is full; retry shortly", self.limits.retry_after_seconds)
        else:
            self.check(tenant=tenant, lane=lane)
        room = self._rooms.get(key) or self._rooms.setdefault(key, asyncio.Semaphore(self.limits.per_tenant))
        self._in_room[key] += 1
        try:
            if speculative:
                await self._wait(room, deadline, None, lane)
            elif patient:
                self._patient_of[key] += 1
                try:
                    await self._wait(room, deadline, self._patient, lane)
                finally:
                    self._patient_of[key] -= 1
                    if not self._patient_of[key]:
                        del self._patient_of[key]
            else:
                await self._wait(room, deadline, None, lane)
            try:
                waiting = None if speculative else self._waiting
                await self._wait(self._semaphore(lane), deadline, waiting, lane)
                try:
                    yield
                finally:
                    self._semaphore(lane).release()
            finally:
                room.release()
        finally:
            self._in_room[key] -= 1
            if not self._in_room[key]:
                del self._in_room[key], self._rooms[key]

    @staticmethod
    async def _wait(
        semaphore: asyncio.Semaphore, deadline: float, line: Counter[Lane] | None, lane: Lane
    ) -> None:
        if line is not None:
            line[lane] += 1
        try:
            await asyncio.wait_for(semaphore.acquire(), timeout=max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            raise QueryTimedOut("the query could not start before its time limit; retry later") from None
        finally:
            if line is not None:
                line[lane] -= 1

    def check(self, *, tenant: int, lane: Lane) -> None:
        """Raise ``QueryBusy`` if ``tenant`` could not take a turn in ``lane`` now: callers ask before any
        costly work (validating a query), so that a flood of refused requests stays cheap."""
        room = self._rooms.get((lane, tenant))
        if room is not None and room.locked():
            raise QueryBusy(
                f"this organisation already has {self.limits.per_tenant} {lane} queries running or waiting;"
                " retry when one has finished",
                self.limits.retry_after_seconds,
            )
        if self._waiting[lane] >= self.limits.queue:
            raise QueryBusy(f"the {lane} queue is full; retry shortly", self.limits.retry_after_seconds)

    def waiting(self, lane: Lane) -> int:
        return self._waiting[lane]
