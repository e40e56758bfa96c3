"""Issue #25, finding 5, for clients that ignore Retry-After: a tenant with no room for another query is
refused at the door, before authentication, once its credential has been admitted to that project."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from tests.integration.accounts.kit import World, build_world
from tests.integration.capture_kit import Running

from belvedere.query.gate import Lane

SQL = {"kind": "sql", "query": "SELECT count(*) FROM events"}


@contextmanager
def full(app: Running, org_id: int, lane: Lane) -> Iterator[None]:
    """The organisation's lane as if its queries were all running (its room in the gate, with no place
    left, set directly)."""
    gate = app.runtime.gate
    gate._rooms[(lane, org_id)] = asyncio.Semaphore(0)
    try:
        yield
    finally:
        del gate._rooms[(lane, org_id)]


def test_a_known_credential_is_refused_before_it_is_authenticated(app: Running) -> None:
    world: World = build_world(app)
    url = f"/api/v1/projects/{world.project_id}/query"
    reader = {"Authorization": f"Bearer {world.read_key}"}
    assert app.client.post(url, json=SQL, headers=reader).status_code == 200  # admitted once: remembered
    lookups: list[str] = []  # authentication looks the key up in the metadata database, via these sessions
    original = app.runtime.sessions

    def counting_sessions() -> object:
        lookups.append("session")
        return original()

    with full(app, world.org_id, "sql"):
        app.runtime.sessions = counting_sessions  # type: ignore[assignment]
        try:
            refused = app.client.post(url, json=SQL, headers=reader)
        finally:
            app.runtime.sessions = original
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "busy"
        assert int(refused.headers["Retry-After"]) >= 1 and refused.headers["x-request-id"]
        assert lookups == []  # no key lookup, no metadata database: refused at the door
        # The other lane, and the tenant's other projects' credentials, still get through.
        stats = {"kind": "stats", "date_from": "-7d"}
        assert app.client.post(url, json=stats, headers=reader).status_code == 200
    assert app.client.post(url, json=SQL, headers=reader).status_code == 200


def test_strangers_learn_nothing_at_the_door(app: Running) -> None:
    world = build_world(app)
    url = f"/api/v1/projects/{world.project_id}/query"
    outsider = world.people["outsider"].auth()  # owner of another organisation
    with full(app, world.org_id, "sql"):
        for headers in (outsider, {"Authorization": "Bearer bk_forged"}, {}):
            answer = app.client.post(url, json=SQL, headers=headers)
            assert answer.status_code in (401, 404), answer.text  # as when the tenant is idle
