"""Issue #26, item 3: the pages ask through the same query desk as the API — the gate counts their queries —
but patiently: a page whose panels load together waits for its tenant's room instead of being refused."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running
from tests.waiting import eventually

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
