"""The query gate: a bound per tenant and lane, a bounded queue, and deadlines that count the wait."""

from __future__ import annotations

import asyncio
import time

import pytest

from belvedere.query.gate import GateLimits, QueryBusy, QueryGate, QueryTimedOut


def _gate(**limits: int) -> QueryGate:
    return QueryGate({"insights": 1, "sql": 1}, GateLimits(**limits))


def test_a_tenant_past_its_bound_is_refused_at_once_and_others_still_queue() -> None:
    async def scenario() -> None:
        gate = _gate(per_tenant=2, queue=10)
        release = asyncio.Event()
        later = time.monotonic() + 5

        async def hold(tenant: int) -> None:
            async with gate.turn(tenant=tenant, lane="sql", deadline=later):
                await release.wait()

        first = asyncio.create_task(hold(1))
        second = asyncio.create_task(hold(1))  # waits for the one turn
        await asyncio.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(QueryBusy) as busy:
            async with gate.turn(tenant=1, lane="sql", deadline=later):
                pass
        assert time.monotonic() - started < 0.05 and busy.value.retry_after >= 1
        # Another tenant queues in the same lane, and the insights lane is free meanwhile.
        other = asyncio.create_task(hold(2))
        async with gate.turn(tenant=1, lane="insights", deadline=later):
            pass
        release.set()
        await asyncio.gather(first, second, other)

    asyncio.run(scenario())


def test_a_full_queue_refuses_and_a_wait_past_the_deadline_times_out() -> None:
    async def scenario() -> None:
        gate = _gate(per_tenant=10, queue=1)
        release = asyncio.Event()

        async def hold(deadline: float) -> None:
            async with gate.turn(tenant=1, lane="sql", deadline=deadline):
                await release.wait()

        running = asyncio.create_task(hold(time.monotonic() + 5))
        await asyncio.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(QueryTimedOut):
            await hold(time.monotonic() + 0.2)  # waits in the queue; its deadline passes there
        assert 0.15 < time.monotonic() - started < 1.0
        waiting = asyncio.create_task(hold(time.monotonic() + 5))
        await asyncio.sleep(0.01)
        assert gate.waiting("sql") == 1
        with pytest.raises(QueryBusy, match="queue is full"):
            await hold(time.monotonic() + 5)
        release.set()
        await asyncio.gather(running, waiting)
        assert gate.waiting("sql") == 0

    asyncio.run(scenario())


def test_a_patient_query_waits_for_its_tenants_room_behind_its_own_and_not_ahead_of_others() -> None:
    async def scenario() -> None:
        gate = QueryGate({"insights": 2, "sql": 1}, GateLimits(per_tenant=2, queue=2))
        release = asyncio.Event()
        later = time.monotonic() + 5
        order: list[str] = []

        async def hold(tenant: int, name: str, *, patient: bool = False) -> None:
            async with gate.turn(tenant=tenant, lane="insights", deadline=later, patient=patient):
                order.append(name)
                await release.wait()

        own = [asyncio.create_task(hold(1, f"own{i}")) for i in range(2)]  # the tenant's room is full
        await asyncio.sleep(0.01)
        with pytest.raises(QueryBusy):  # an impatient one is refused
            await hold(1, "refused")
        page = [asyncio.create_task(hold(1, "page0", patient=True))]
        await asyncio.sleep(0.01)
        with pytest.raises(QueryTimedOut):  # a patient wait ends at the deadline
            async with gate.turn(tenant=1, lane="insights", deadline=time.monotonic() + 0.05, patient=True):
                pass
        page.append(asyncio.create_task(hold(1, "page1", patient=True)))
        await asyncio.sleep(0.01)
        assert order == ["own0", "own1"]  # the patient ones wait, without a turn
        with pytest.raises(QueryBusy, match="queue is full"):  # the patient line is bounded too
            await hold(1, "third", patient=True)
        release.set()
        await asyncio.gather(*own, *page)
        assert sorted(order) == ["own0", "own1", "page0", "page1"]
        assert not gate._rooms and not gate._in_room  # nothing left behind

    asyncio.run(scenario())


def test_one_tenants_waiting_pages_cannot_fill_the_line_for_the_others() -> None:
    """Patient queries are bounded per tenant too: a flood of one organisation's page loads is refused
    before it fills the lane's patient line, so another organisation's page still waits its turn."""

    async def scenario() -> None:
        gate = QueryGate({"insights": 1, "sql": 1}, GateLimits(per_tenant=1, queue=8))
        release = asyncio.Event()
        later = time.monotonic() + 5

        async def hold(tenant: int) -> None:
            async with gate.turn(tenant=tenant, lane="insights", deadline=later, patient=True):
                await release.wait()

        flood = [asyncio.create_task(hold(1))]  # holds the tenant's one place
        await asyncio.sleep(0.01)
        flood += [asyncio.create_task(hold(1)) for _ in range(3)]  # wait, up to the tenant's bound
        await asyncio.sleep(0.01)
        with pytest.raises(QueryBusy, match="this organisation"):
            await hold(1)
        other = asyncio.create_task(hold(2))  # not refused: the line still has room for others
        await asyncio.sleep(0.01)
        assert not other.done()
        release.set()
        await asyncio.gather(*flood, other)

    asyncio.run(scenario())


def test_questions_asked_ahead_never_get_a_real_one_refused() -> None:
    """Speculative turns (a page's panels asked ahead) wait for the tenant's room like patient ones but do
    not count against the bounds: with the tenant's patient line full of them, its page still waits its
    turn rather than being refused — the 429 CI once met on an overview loaded twice with its panels."""

    async def scenario() -> None:
        gate = QueryGate({"insights": 1, "sql": 1}, GateLimits(per_tenant=1, queue=8))
        release = asyncio.Event()
        later = time.monotonic() + 5

        async def hold(*, speculative: bool = False) -> None:
            async with gate.turn(
                tenant=1, lane="insights", deadline=later, patient=True, speculative=speculative
            ):
                await release.wait()

        running = [asyncio.create_task(hold())]  # holds the tenant's one place
        await asyncio.sleep(0.01)
        running += [asyncio.create_task(hold(speculative=True)) for _ in range(5)]  # asked ahead
        await asyncio.sleep(0.01)
        running += [asyncio.create_task(hold()) for _ in range(3)]  # real pages, up to the bound
        await asyncio.sleep(0.01)
        assert not any(task.done() for task in running)  # all waiting, none refused
        with pytest.raises(QueryBusy, match="this organisation"):
            await hold()  # the bound still holds for real questions
        release.set()
        await asyncio.gather(*running)

    asyncio.run(scenario())
