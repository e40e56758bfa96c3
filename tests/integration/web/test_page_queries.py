"""Issue #26, item 3: the pages ask through the same query desk as the API — the gate counts their queries —
but patiently: a page whose panels load together waits for its tenant's room instead of being refused."""

from __future__ import annotations

import asyncio
import html
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running
from tests.integration.query.events_kit import record_sql
from tests.waiting import eventually

from belvedere.query import desk as desk_module
from belvedere.query import parse_query
from belvedere.web.pages.project_pages import PANELS


def _fill_room(app: Running, org_id: int) -> asyncio.Semaphore:
    """The organisation's insights lane as if all its queries were running: its room, with no place."""
    room = app.runtime.gate._rooms[("insights", org_id)] = asyncio.Semaphore(0)
    return room


def test_a_page_waits_at_the_gate_like_any_query_until_its_time_limit(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    panel = f"/app/projects/{world.project_id}/panels/pages"
    app.runtime.queries.time_limit_seconds = 0.5
    _fill_room(app, world.org_id)
    try:
        started = time.monotonic()
        waited = app.client.get(panel, headers=viewer)
        # Not answered past the gate (it was before: pages ran their queries beside it), not refused
        # at once either (the API's 429): it waited its time limit, then said to retry.
        assert waited.status_code == 503 and time.monotonic() - started >= 0.45
        assert waited.headers["content-type"].startswith("text/html") and "retry" in waited.text.lower()
    finally:
        app.runtime.gate._rooms.pop(("insights", world.org_id), None)
    assert app.client.get(panel, headers=viewer).status_code == 200


def test_a_page_gets_its_turn_once_the_tenants_room_frees(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    api = f"/api/v1/projects/{world.project_id}/query"
    room = _fill_room(app, world.org_id)
    portal = app.client.portal
    assert portal is not None  # the app's event loop: the room is released there

    def free_once_the_page_waits() -> None:  # a query of theirs finishes while the page waits
        eventually(lambda: app.runtime.gate._patient_of[("insights", world.org_id)] == 1)
        portal.call(room.release)

    try:
        # The API is refused at once while the room is full; a page waits, then is answered.
        refused = app.client.post(api, json={"kind": "stats"}, headers=viewer)
        assert refused.status_code == 429 and refused.headers["retry-after"]
        opened = threading.Thread(target=free_once_the_page_waits)
        opened.start()
        waited = app.client.get(f"/app/projects/{world.project_id}/panels/pages", headers=viewer)
        opened.join()
        assert waited.status_code == 200 and "Top pages" in waited.text
    finally:
        app.runtime.gate._rooms.pop(("insights", world.org_id), None)


def test_an_overview_and_all_its_panels_at_once_are_all_answered(app: Running) -> None:
    """More queries at once than the tenant's bound (4): each page waits for room, none is refused."""
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    base = f"/app/projects/{world.project_id}"
    pages = [base] * 2 + [f"{base}/panels/{name}" for name in PANELS] * 2
    assert len(pages) > app.runtime.gate.limits.per_tenant * 2
    with ThreadPoolExecutor(len(pages)) as pool:
        answers = list(pool.map(lambda url: app.client.get(url, headers=viewer).status_code, pages))
    assert answers == [200] * len(pages)


def _panel_urls(overview: str) -> list[str]:
    """The panels' URLs as the browser asks them once it has the page (``hx-get``, HTML-escaped)."""
    found = re.findall(r'class="card panel"[^>]* hx-get="([^"]+)"', overview)
    return [html.unescape(url) for url in found]


def test_the_overview_asks_its_panels_ahead_and_they_take_those_answers(app: Running) -> None:
    """The overview asks its panels' first tabs while it renders (``QueryDesk.ask_ahead``): the browser's
    panel requests then run no statement of their own, and show what they show when asked alone."""
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    for path, source in (("/a", "https://www.google.com/"), ("/b", None), ("/b", "https://news.example/")):
        app.client.post(
            "/api/v1/capture",
            json={
                "type": "page",
                "context": {"page": {"url": f"https://x.example{path}", "referrer": source}},
            },
            headers={"Authorization": f"Bearer {world.write_key}"},
        )
    assert app.wait_stored(3, world.project_id) == 3
    base = f"/app/projects/{world.project_id}"
    url = f"{base}?period=30d&path=%2Fb"  # with a filter: the panels' URLs carry it
    desk, store = app.runtime.desk, app.runtime.store
    panels = _panel_urls(app.client.get(url, headers=viewer).text)
    assert len(panels) == len(PANELS)
    eventually(lambda: not desk._unfinished)
    alone = {}  # each panel asked by itself, nothing ahead and nothing cached
    for panel in panels:
        desk._ahead.clear()
        app.runtime.queries.cache.clear()
        alone[panel] = app.client.get(panel, headers=viewer).text

    app.runtime.queries.cache.clear()
    ran = record_sql(store)
    try:
        assert _panel_urls(app.client.get(url, headers=viewer).text) == panels
        eventually(lambda: not desk._unfinished)
        asked = len(ran)
        assert asked > 3  # the figures (two periods), the chart, and the panels ahead
        claimed = {panel: app.client.get(panel, headers=viewer).text for panel in panels}
        assert len(ran) == asked and not desk._ahead  # each taken once
        assert claimed == alone
        # Taken once only: asked again, a panel is answered from the cache, or computed.
        assert app.client.get(panels[0], headers=viewer).text == alone[panels[0]]
    finally:
        del store.fetch_table


def test_an_answer_asked_ahead_that_fails_or_is_never_taken_is_asked_again(
    app: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    app.client.post(
        "/api/v1/capture",
        json={"type": "page", "context": {"page": {"url": "https://x.example/a"}}},
        headers={"Authorization": f"Bearer {world.write_key}"},
    )
    assert app.wait_stored(1, world.project_id) == 1
    base = f"/app/projects/{world.project_id}"
    desk = app.runtime.desk
    panels = _panel_urls(app.client.get(base, headers=viewer).text)
    eventually(lambda: not desk._unfinished)
    assert len(desk._ahead) == len(PANELS)
    with monkeypatch.context() as patched:
        patched.setattr(desk_module, "AHEAD_SECONDS", 0.0)  # not taken in time: forgotten
        app.runtime.queries.cache.clear()
        answered = app.client.get(panels[0], headers=viewer)
        assert answered.status_code == 200 and ">/a</a>" in answered.text and not desk._ahead

    # Failed ahead (the tenant's room full until past the time limit): the panel asks again, answered.
    app.runtime.queries.cache.clear()
    app.runtime.queries.time_limit_seconds = 0.3
    _fill_room(app, world.org_id)
    try:
        assert app.client.get(f"{base}?period=7d", headers=viewer).status_code == 503
        eventually(lambda: not desk._unfinished)
    finally:
        app.runtime.gate._rooms.pop(("insights", world.org_id), None)
        app.runtime.queries.time_limit_seconds = 30.0
    failed = [task for task, _ in desk._ahead.values()]
    assert len(failed) == len(PANELS) and all(task.exception() is not None for task in failed)
    answered = app.client.get(f"{base}/panels/pages?period=7d&tab=page", headers=viewer)
    assert answered.status_code == 200 and ">/a</a>" in answered.text
    assert len(desk._ahead) == len(PANELS) - 1  # the pages panel's, taken (failed) and asked again


def test_answers_asked_ahead_are_bounded_per_organisation(app: Running) -> None:
    """Asked ahead, a page's panels wait without counting against the gate's bounds; so the desk itself
    keeps them few: past ``AHEAD_PER_TENANT`` under way for an organisation, nothing more is asked ahead
    (a flood of overviews with ever new filters cannot queue work without bound)."""
    desk = app.runtime.desk
    org = SimpleNamespace(id=987_654, plan="unlimited")
    grant: Any = SimpleNamespace(org=org, project=SimpleNamespace(id=app.project.project.id, timezone="UTC"))
    other: Any = SimpleNamespace(org=SimpleNamespace(id=987_655, plan="unlimited"), project=grant.project)

    async def scenario() -> None:
        for days in range(1, 15):  # 14 different questions, none begun yet
            desk.ask_ahead(grant, parse_query({"kind": "stats", "date_from": f"-{days}d"}))
        assert (
            sum(1 for (project, _) in desk._ahead if project == grant.project.id)
            == desk_module.AHEAD_PER_TENANT
        )
        desk.ask_ahead(other, parse_query({"kind": "stats", "date_from": "-30d"}))  # another organisation
        assert len(desk._ahead) == desk_module.AHEAD_PER_TENANT + 1
        await desk.settle()
        assert not desk._ahead_of  # the count goes back with the answers

    asyncio.run(scenario())
