"""Issue #26, item 3: each kind is declared once (spec, runner, result model, plan feature, lane), and the
query API's schema and answers come from that declaration."""

from __future__ import annotations

from typing import Any

import orjson
from tests.integration.capture_kit import Running

from belvedere.query import REGISTRY
from belvedere.query.desk import lane_of

# One small question per kind: a new kind must add its own here.
BODIES: dict[str, dict[str, Any]] = {
    "stats": {"kind": "stats", "date_from": "-7d", "goal": "signup"},
    "stickiness": {"kind": "stickiness", "date_from": "-7d", "event": "$pageview"},
    "anomalies": {"kind": "anomalies", "date_from": "-7d", "series": [{"event": "$pageview"}]},
    "forecast": {"kind": "forecast", "date_from": "mtd", "series": [{"event": "$pageview"}], "horizon": 7},
    "conversion_drivers": {"kind": "conversion_drivers", "date_from": "-7d", "goal": "signup"},
    "patterns": {"kind": "patterns", "pattern": "churn_risk"},
    "correlations": {"kind": "correlations", "date_from": "-14d", "target": {"event": "signup"}},
    "root_cause": {"kind": "root_cause", "date_from": "-1d", "series": {"event": "$pageview"}},
    "events": {"kind": "events", "date_from": "-7d", "event": "$pageview", "limit": 5},
    "trends": {
        "kind": "trends",
        "series": [{"event": "$pageview"}, {"event": "signup"}],
        "formula": "B / A",
        "breakdown": "browser",
        "compare": True,
    },
    "breakdown": {"kind": "breakdown", "dimension": "page", "goal": "signup"},
    "funnel": {
        "kind": "funnel",
        "steps": [{"event": "$pageview"}, {"event": "signup"}],
        "breakdown": "browser",
        "exclusions": [{"event": "$pageleave", "from_step": 1, "to_step": 2}],
        "over_time": True,
        "time_to_convert": {"bins": 5},
    },
    "funnel_people": {
        "kind": "funnel_people",
        "steps": [{"event": "$pageview"}, {"event": "signup"}],
        "step": 2,
        "status": "dropped",
    },
    "retention": {"kind": "retention", "revenue_property": "revenue"},
    "paths": {"kind": "paths"},
    "lifecycle": {"kind": "lifecycle"},
    "usage": {"kind": "usage"},
    "users": {"kind": "users"},
    "user": {"kind": "user", "person_id": "p1"},
    "realtime": {"kind": "realtime"},
    "event_properties": {"kind": "event_properties"},
    "goals": {"kind": "goals", "events": ["signup", "$pageview"]},
    "sql": {"kind": "sql", "query": "SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY event"},
}


def test_every_kind_is_declared_once_with_its_result_feature_and_lane() -> None:
    assert set(REGISTRY) == set(BODIES)
    for kind, runner in REGISTRY.items():
        assert runner.kind == kind
        assert runner.spec_model.model_fields["kind"].default == kind
        assert runner.result_model.model_fields["kind"].default == kind
        assert lane_of(kind) == runner.lane
    assert REGISTRY["sql"].feature == "sql" and REGISTRY["sql"].lane == "sql"
    assert {k for k, r in REGISTRY.items() if r.feature is not None} == {"sql"}


def test_the_schema_lists_every_kinds_question_and_answer(app: Running) -> None:
    schema = app.client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/projects/{project_id}/query"]["post"]
    components = schema["components"]["schemas"]

    def named(ref_holder: dict[str, Any]) -> set[str]:
        return {ref["$ref"].rsplit("/", 1)[1] for ref in ref_holder["oneOf"]}

    questions = named(operation["requestBody"]["content"]["application/json"]["schema"])
    answers = named(operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert questions == {runner.spec_model.__name__ for runner in REGISTRY.values()}
    assert answers == {runner.result_model.__name__ for runner in REGISTRY.values()}
    funnel = components["FunnelResult"]["properties"]
    assert {"steps", "breakdown", "meta"} <= set(funnel)
    assert components["StepResult"]["properties"]["conversion_rate"]["anyOf"]


def test_each_answer_is_its_kinds_result_and_only_what_was_asked(app: Running) -> None:
    """Every kind through one running app (one app per kind cost 40 s of CI for nothing more)."""
    batch = [
        {"event": "$pageview", "distinct_id": "p1", "url": "https://example.com/", "revenue": 3},
        {"event": "$pageview", "distinct_id": "p1", "url": "https://example.com/pricing"},
        {"event": "signup", "distinct_id": "p1", "properties": {"plan": "pro"}},
        {"event": "$pageview", "distinct_id": "p2", "url": "https://example.com/"},
    ]
    assert app.client.post("/api/v1/capture", json={"batch": batch}, headers=app.auth()).status_code == 202
    app.wait_stored(len(batch))
    for kind in sorted(BODIES):
        _check_answer(app, kind)


def _check_answer(app: Running, kind: str) -> None:
    url = f"/api/v1/projects/{app.project.project.id}/query"
    response = app.client.post(url, json=BODIES[kind], headers=app.read_auth())
    assert response.status_code == 200, response.text
    body = orjson.loads(response.content)
    result = REGISTRY[kind].result_model.model_validate_json(response.content)  # raises if off-model
    assert body["kind"] == result.kind == kind
    assert body["meta"]["cached"] is False and body["meta"]["timezone"] == app.project.project.timezone
    # Unset parts stay out: what the client did not ask for is absent, not null.
    plain = app.client.post(url, json={"kind": kind, **_plain(kind)}, headers=app.read_auth()).json()
    for optional in ("formula", "previous", "breakdown", "ltv", "over_time", "time_to_convert"):
        assert optional not in plain
    if kind == "trends":
        assert {"formula", "previous"} <= set(body) and "breakdown_value" in body["series"][0]
        assert "breakdown_value" not in plain["series"][0]
    if kind == "breakdown":
        assert "conversion_rate" in body["results"][0] and "conversion_rate" not in plain["results"][0]
    if kind == "retention":
        assert "ltv" in body["cohorts"][0] and "ltv" not in plain["cohorts"][0]
    if kind == "user":
        stranger = app.client.post(url, json={"kind": "user", "person_id": "nobody"}, headers=app.read_auth())
        assert stranger.json() == {"kind": "user", "person_id": "nobody", "found": False, "meta": ANY_META}


def _plain(kind: str) -> dict[str, Any]:
    """The kind's question with none of its options."""
    required = {k: v for k, v in BODIES[kind].items() if k in {"person_id", "query", "dimension", "step"}}
    if kind == "trends":
        required["series"] = [{"event": "$pageview"}]
    if kind in ("funnel", "funnel_people"):
        required["steps"] = BODIES[kind]["steps"]
    return required


class _AnyMeta:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, dict) and set(other) == {"sql_ms", "cached", "timezone"}


ANY_META = _AnyMeta()
