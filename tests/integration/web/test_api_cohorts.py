"""Cohorts through the API, with the job platform computing them: saved, computed, read, used as a query
filter, changed, deleted — and never reachable from another organisation, nor a filter on another
project's cohort."""

from __future__ import annotations

import time
from typing import Any

import httpx
from tests.integration.accounts.kit import World, build_world
from tests.integration.capture_kit import Running
from tests.waiting import eventually

from belvedere.insights.cohorts.people import sample_members


def _send(app: Running, key: str, events: list[dict[str, Any]], project_id: int) -> None:
    r = app.client.post("/api/v1/capture", json={"batch": events}, headers={"Authorization": f"Bearer {key}"})
    assert r.json()["accepted"] == len(events)
    assert app.wait_stored(len(events), project_id) == len(events)


def _ready(app: Running, url: str, auth: dict[str, str], version_seen: str | None = None) -> dict[str, Any]:
    """The cohort once a computation newer than ``version_seen`` (its ``computed_at``) has finished."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        got = app.client.get(url, headers=auth).json()
        if got["status"] != "pending" and got["computed_at"] != version_seen:
            return dict(got)
        time.sleep(0.1)
    raise AssertionError(f"cohort not computed: {got}")


def _events_of(
    app: Running, world: World, auth: dict[str, str], filters: list[dict[str, Any]]
) -> httpx.Response:
    return app.client.post(
        f"/api/v1/projects/{world.project_id}/query",
        json={"kind": "stats", "date_from": "-7d", "filters": filters},
        headers=auth,
    )


def test_a_cohort_is_computed_used_as_a_filter_changed_and_deleted(app: Running) -> None:
    world = build_world(app)
    member, viewer = world.people["member"].auth(), world.people["viewer"].auth()
    buys = [{"event": "buy", "distinct_id": p} for p in ("b1", "b1", "b2")]
    _send(app, world.write_key, [*buys, {"event": "look", "distinct_id": "l1"}], world.project_id)
    base = f"/api/v1/projects/{world.project_id}/cohorts"
    body = {"name": "Repeat buyers", "definition": {"type": "behaviour", "event": "buy", "min_count": 2}}
    assert app.client.post(base, json=body, headers=viewer).status_code == 403
    created = app.client.post(base, json=body, headers=member)
    assert created.status_code == 201, created.text
    cohort = created.json()
    assert cohort["status"] == "pending" and cohort["definition"]["event"] == "buy"
    url = f"{base}/{cohort['id']}"
    done = _ready(app, url, viewer)
    assert (done["status"], done["count"], done["error"]) == ("ready", 1, None)
    people = app.client.get(f"{url}/people", headers=viewer).json()
    assert people["people"] == ["b1"]
    # As a filter: b1's two events.
    answer = _events_of(app, world, viewer, [{"property": "cohort", "value": cohort["id"]}])
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"]["events"]["value"] == 2
    # Changed: every buyer.
    patched = app.client.patch(
        url, json={"definition": {"type": "behaviour", "event": "buy"}}, headers=member
    )
    assert patched.json()["status"] == "pending"
    done = _ready(app, url, viewer, done["computed_at"])
    assert done["count"] == 2
    answer = _events_of(app, world, viewer, [{"property": "cohort", "value": cohort["id"]}])
    assert answer.json()["results"]["events"]["value"] == 3
    listed = app.client.get(base, headers=viewer).json()["results"]
    assert [c["name"] for c in listed] == ["Repeat buyers"]
    # Another organisation sees none of it, and its project cannot filter on it.
    outsider = world.people["outsider"].auth()
    assert app.client.get(url, headers=outsider).status_code == 404
    other = f"/api/v1/projects/{world.other_project_id}"
    theirs = app.client.post(
        f"{other}/query",
        json={
            "kind": "stats",
            "date_from": "-7d",
            "filters": [{"property": "cohort", "value": cohort["id"]}],
        },
        headers=outsider,
    )
    assert theirs.status_code == 422, theirs.text  # not one of that project's cohorts: said, not zero
    assert f"no cohort {cohort['id']} in this project" in theirs.json()["error"]["message"]
    assert app.client.get(f"{other}/cohorts/{cohort['id']}", headers=outsider).status_code == 404
    # Deleted: gone, and its members with it.
    assert app.client.delete(url, headers=member).status_code == 204
    assert app.client.get(url, headers=viewer).status_code == 404
    gone = _events_of(app, world, viewer, [{"property": "cohort", "value": cohort["id"]}])
    assert gone.status_code == 422 and "no cohort" in gone.json()["error"]["message"]
    store = app.runtime.queries.store
    assert eventually(
        lambda: sample_members(store, project_id=world.project_id, cohort_id=cohort["id"], limit=10) == [],
        timeout=20,
        interval=0.1,
    ), "the deleted cohort's members stayed"


def test_a_list_a_pattern_and_bad_definitions(app: Running) -> None:
    world = build_world(app)
    member = world.people["member"].auth()
    _send(
        app, world.write_key, [{"event": "look", "distinct_id": p} for p in ("a", "b", "c")], world.project_id
    )
    base = f"/api/v1/projects/{world.project_id}/cohorts"
    listed = app.client.post(
        base, json={"name": "VIPs", "definition": {"type": "static", "ids": ["a", "zed"]}}, headers=member
    ).json()
    assert _ready(app, f"{base}/{listed['id']}", member)["count"] == 2
    pattern = {"type": "pattern", "query": {"kind": "patterns", "pattern": "power_users", "date_from": "-7d"}}
    power = app.client.post(base, json={"name": "Power", "definition": pattern}, headers=member)
    assert power.status_code == 201, power.text
    power_url = f"{base}/{power.json()['id']}"
    first = _ready(app, power_url, member)
    assert (first["status"], first["previous_count"]) == ("ready", None)
    app.client.post(f"{power_url}/compute", headers=member)
    again = _ready(app, power_url, member, first["computed_at"])
    assert again["previous_count"] == first["count"]  # the size before, for the feed's "cohort grew"
    for bad, says in [
        ({"type": "behaviour", "days": 0}, "definition.behaviour.days"),
        ({"type": "static", "ids": []}, "definition.static.ids"),
        ({"type": "pattern", "query": {"kind": "patterns", "pattern": "feature_adoption"}}, "a cohort holds"),
        ({"type": "nope"}, "definition"),
        ({"type": "behaviour", "filters": [{"property": "cohort", "value": 1}]}, "cannot filter on cohorts"),
    ]:
        r = app.client.post(base, json={"name": "x", "definition": bad}, headers=member)
        assert r.status_code == 422, (bad, r.text)
        assert says in r.json()["error"]["message"], r.json()
    assert app.client.post(base, json={"name": "", "definition": {}}, headers=member).status_code == 422
    assert app.client.get(f"{base}/999999", headers=member).status_code == 404
    assert app.client.get(f"{base}/{listed['id']}/people?limit=0", headers=member).status_code == 422
