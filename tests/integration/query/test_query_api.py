"""POST /api/v1/projects/{id}/query: authentication, validation errors with the field, a real answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.integration.capture_kit import Running, running

from belvedere.config import Settings


@pytest.fixture
def app(settings: Settings) -> Iterator[Running]:
    with running(settings) as r:
        yield r


def _url(app: Running, project_id: int | None = None) -> str:
    return f"/api/v1/projects/{project_id or app.project.project.id}/query"


def test_captured_events_are_answered_by_the_query_api(app: Running) -> None:
    batch = [
        {"event": "signed_up", "distinct_id": "u1", "timestamp": "2025-03-10T10:00:00Z"},
        {"event": "signed_up", "distinct_id": "u2", "timestamp": "2025-03-10T11:00:00Z"},
        {"event": "signed_up", "distinct_id": "u2", "timestamp": "2025-03-11T11:00:00Z"},
    ]
    assert app.client.post("/api/v1/capture", json={"batch": batch}, headers=app.auth()).status_code == 202
    app.wait_stored(3)
    body = {
        "kind": "trends",
        "date_from": "2025-03-10",
        "date_to": "2025-03-11",
        "series": [{"event": "signed_up"}, {"event": "signed_up", "math": "unique_users"}],
    }
    first = app.client.post(_url(app), json=body, headers=app.read_auth())
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["labels"] == ["2025-03-10", "2025-03-11"]
    assert [s["data"] for s in result["series"]] == [[2, 1], [2, 1]]
    assert result["meta"]["timezone"] == "Europe/Paris" and result["meta"]["cached"] is False
    again = app.client.post(_url(app), json=body, headers=app.read_auth()).json()
    assert again["meta"]["cached"] is True


def test_invalid_queries_get_422_with_the_field(app: Running) -> None:
    cases = [
        ({"kind": "nope"}, "kind"),
        ({"kind": "stats", "date_from": "last tuesday"}, "date_from"),
        ({"kind": "trends", "series": []}, "series"),
        ({"kind": "funnel", "steps": [{"event": "a"}]}, "steps"),
        ({"kind": "stats", "filters": [{"property": "x'; DROP TABLE events; --", "value": 1}]}, "property"),
        ({"kind": "stats", "filters": [{"property": "browser", "operator": "gt", "value": "a"}]}, "filters"),
    ]
    for body, field in cases:
        response = app.client.post(_url(app), json=body, headers=app.read_auth())
        assert response.status_code == 422, body
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert any(field in d["field"] + d["message"] for d in error["details"]), (field, error)


def test_a_key_only_reads_its_own_project(app: Running) -> None:
    other = app.new_project("Other")
    body = {"kind": "stats"}
    assert app.client.post(_url(app), json=body).status_code == 401
    denied = app.client.post(_url(app, other.project.id), json=body, headers=app.read_auth())
    assert denied.status_code == 404  # another project's existence is not revealed
