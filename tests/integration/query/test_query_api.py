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


def test_small_requests_that_would_cost_much_or_crash_get_a_clear_422(app: Running) -> None:
    """Issue #25, findings 8 and 9: hourly buckets over -9999d took 20.8 s and answered 10 MB; 8,000
    filters 14.7 s; an invalid regex, an offset of 2^63 and the year 1 answered a bare 500."""
    browser = {"property": "browser", "operator": "neq", "value": "x"}
    cases = [
        ({"kind": "trends", "interval": "hour", "date_from": "-9999d", "series": [{}]}, "hours"),
        ({"kind": "trends", "interval": "day", "date_from": "-9999d", "series": [{}]}, "days"),
        ({"kind": "stats", "filters": [browser] * 51}, "at most 50"),
        ({"kind": "trends", "series": [{"filters": [browser] * 51}]}, "at most 50"),
        ({"kind": "stats", "filters": [{"property": "path", "operator": "in", "value": ["/"] * 501}]}, "500"),
        ({"kind": "stats", "filters": [{"property": "path", "value": "x" * 1001}]}, "1000 characters"),
        ({"kind": "stats", "filters": [{"property": "path", "operator": "regex", "value": "(("}]}, "regular"),
        ({"kind": "users", "offset": 2**63}, "offset"),
        ({"kind": "breakdown", "dimension": "path", "offset": 2**63}, "offset"),
        ({"kind": "stats", "date_from": "0001-01-01"}, "between"),
        ({"kind": "stats", "date_from": "-9999y"}, "out of range"),
        ({"kind": "stats", "date_from": "2025-01-01", "date_to": "9999-12-31"}, "out of range"),
    ]
    for body, expected in cases:
        response = app.client.post(_url(app), json=body, headers=app.read_auth())
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "invalid_request"
        assert expected in response.text, (body, response.text)
    ok = {"kind": "trends", "interval": "hour", "date_from": "-90d", "series": [{}]}
    assert app.client.post(_url(app), json=ok, headers=app.read_auth()).status_code == 200
