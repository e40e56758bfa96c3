"""The JSON API for saved insights and dashboards: the same rules as the pages, answered as JSON."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running

from belvedere.app import BelvedereApp


def test_insights_and_dashboards_round_trip(app: Running) -> None:
    world = build_world(app)
    member = world.people["member"].auth()
    base = f"/api/v1/projects/{world.project_id}"
    funnel = {"kind": "funnel", "steps": [{"event": "$pageview"}, {"event": "signup"}], "window": 3600}
    created = app.client.post(f"{base}/insights", json={"name": "Sign-ups", "query": funnel}, headers=member)
    assert created.status_code == 201, created.text
    insight = created.json()
    assert insight["kind"] == "funnel" and insight["query"]["window"] == 3600
    assert "order" not in insight["query"]  # defaults are not stored
    bad = app.client.post(
        f"{base}/insights",
        json={"name": "x", "query": {"kind": "funnel", "steps": [{"event": "a"}]}},
        headers=member,
    )
    assert bad.status_code == 422 and "query.steps" in bad.json()["error"]["message"]
    unsaveable = app.client.post(
        f"{base}/insights", json={"name": "x", "query": {"kind": "users"}}, headers=member
    )
    assert unsaveable.status_code == 422 and "cannot be saved" in unsaveable.json()["error"]["message"]
    names = [i["name"] for i in app.client.get(f"{base}/insights", headers=member).json()["results"]]
    assert names == ["KPIs", "Sign-ups"]

    board = app.client.post(f"{base}/dashboards", json={"name": "Growth"}, headers=member).json()
    url = f"{base}/dashboards/{board['id']}"
    for insight_id, display in ((insight["id"], "table"), (world.insight_id, None)):
        added = app.client.post(
            f"{url}/widgets", json={"insight_id": insight_id, "display": display, "width": 2}, headers=member
        )
        assert added.status_code == 201, added.text
    widgets = added.json()["widgets"]
    assert [(w["display"], w["width"]) for w in widgets] == [("table", 2), ("number", 2)]
    wrong = app.client.post(
        f"{url}/widgets", json={"insight_id": insight["id"], "display": "map"}, headers=member
    )
    assert wrong.status_code == 422
    order = [widgets[1]["id"], widgets[0]["id"]]
    patched = app.client.patch(url, json={"name": "Growth 2", "order": order}, headers=member).json()
    assert patched["name"] == "Growth 2" and [w["id"] for w in patched["widgets"]] == order
    assert app.client.patch(url, json={"order": order[:1]}, headers=member).status_code == 422

    shared = app.client.post(f"{url}/share", json={}, headers=member).json()
    with TestClient(BelvedereApp(app.runtime, manage_runtime=False)) as stranger:
        assert stranger.get(shared["url"]).status_code == 200
        assert app.client.delete(f"{url}/share", headers=member).status_code == 204
        assert stranger.get(shared["url"]).status_code == 404
    assert app.client.get(url, headers=world.people["viewer"].auth()).json()["shared"] is False

    assert app.client.delete(f"{url}/widgets/{order[0]}", headers=member).status_code == 204
    assert app.client.delete(f"{url}/widgets/{order[0]}", headers=member).status_code == 404
    assert app.client.delete(f"{base}/insights/{insight['id']}", headers=member).status_code == 204
    assert app.client.get(url, headers=member).json()["widgets"] == []  # the insight's widgets went with it
    assert app.client.delete(url, headers=member).status_code == 204
    assert app.client.get(url, headers=member).status_code == 404


def test_the_dashboard_limit_of_the_plan_answers_plan_limit(app: Running) -> None:
    world = build_world(app, plan="basic")  # 3 dashboards, one made by the world
    member = world.people["member"].auth()
    url = f"/api/v1/projects/{world.project_id}/dashboards"
    assert [app.client.post(url, json={"name": n}, headers=member).status_code for n in "AB"] == [201, 201]
    refused = app.client.post(url, json={"name": "C"}, headers=member)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "plan_limit" and error["details"]["current"] == 3
