"""Health, readiness, metrics, the events read API and the error shape."""

from __future__ import annotations

import pytest
from tests.integration.capture_kit import Running, eventually, running

from belvedere.config import Settings


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    with running(settings) as r:
        yield r


def test_health_and_ready_report_each_component(app: Running) -> None:
    assert app.client.get("/health").json() == {"status": "ok"}
    ready = app.client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {"metadata", "event_store", "spool"}
    for component in body["components"].values():
        assert component["status"] == "ok" and component["latency_ms"] >= 0
    assert body["components"]["metadata"]["dialect"] == "sqlite"
    assert body["components"]["spool"]["depth_bytes"] == 0


def test_metrics_count_events_batches_and_requests(app: Running) -> None:
    batch = [{"event": "a"}, {"event": "b"}, {"type": "nope"}]
    app.client.post("/api/v1/capture", json={"batch": batch}, headers=app.auth())
    app.client.post("/api/v1/capture", content=b"[", headers=app.auth())
    app.wait_stored(2)
    app.runtime.maintain()
    # The writer counts its batch just after committing it.
    assert eventually(lambda: "belvedere_store_rows_total 2.0" in app.client.get("/metrics").text)
    text = app.client.get("/metrics").text
    assert "belvedere_events_accepted_total 2.0" in text
    assert 'belvedere_events_rejected_total{reason="invalid_type"} 1.0' in text
    assert 'belvedere_capture_refused_total{reason="malformed_json"} 1.0' in text
    assert "belvedere_store_rows_total 2.0" in text
    assert "belvedere_store_batch_seconds_count" in text
    assert "belvedere_spool_depth_bytes" in text and "belvedere_spool_age_seconds" in text
    assert 'belvedere_ingest_step_seconds_total{step="user_agent"}' in text
    assert 'route="/api/v1/capture",status="202"' in text
    assert (
        'belvedere_http_request_seconds_count{method="POST",route="/api/v1/capture",status="400"} 1.0' in text
    )


def test_events_api_needs_the_projects_read_key(app: Running) -> None:
    app.client.post(
        "/api/v1/capture",
        json={"event": "seen", "uuid": "5e1a1e5e-0000-4000-8000-000000000001"},
        headers=app.auth(),
    )
    app.wait_stored(1)
    pid = app.project.project.id
    path = f"/api/v1/projects/{pid}/events"
    missing = app.client.get(path)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
    assert app.client.get(path, headers=app.auth()).status_code == 401  # a write key cannot read
    other = app.new_project("Other")
    # Another project's key learns nothing, not even that this project exists.
    foreign = app.client.get(path, headers={"Authorization": f"Bearer {other.api_key}"})
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "not_found"
    listed = app.client.get(path, headers=app.read_auth())
    assert [e["event"] for e in listed.json()["results"]] == ["seen"]
    one = app.client.get(f"{path}/5e1a1e5e-0000-4000-8000-000000000001", headers=app.read_auth())
    assert one.status_code == 200 and one.json()["event"] == "seen"
    absent = app.client.get(f"{path}/5e1a1e5e-0000-4000-8000-000000000002", headers=app.read_auth())
    assert absent.status_code == 404 and absent.json()["error"]["code"] == "not_found"
    invalid = app.client.get(f"{path}?limit=0", headers=app.read_auth())
    assert invalid.status_code == 422 and invalid.json()["error"]["details"][0]["field"] == "query.limit"


def test_openapi_is_served(app: Running) -> None:
    schema = app.client.get("/openapi.json").json()
    assert "/api/v1/projects/{project_id}/events" in schema["paths"]
    assert "/api/v1/capture" in schema["paths"]
    assert app.client.get("/docs").status_code == 200
