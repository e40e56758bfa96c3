"""Issue #25 (finding 9): an unexpected error is the JSON error envelope with a request id — never a bare
500 — and the id in the answer is the one in the log, so an operator can find what went wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError, OperationalError
from structlog.testing import capture_logs
from tests.integration.accounts.kit import fast_settings
from tests.integration.capture_kit import Running, running

from belvedere.app import BelvedereApp


def failing_app(app: Running, error: Exception) -> TestClient:
    """The real app with one more route, which fails the way a bug or a database hiccup would."""
    wrapped = BelvedereApp(app.runtime, manage_runtime=False)

    def broken() -> None:
        raise error

    wrapped.api.add_api_route("/api/v1/broken", broken, methods=["GET"])
    wrapped.api.add_api_route("/broken-page", broken, methods=["GET"])
    return TestClient(wrapped, raise_server_exceptions=False)


def test_an_unexpected_error_is_the_envelope_with_the_logged_request_id(tmp_path: Path) -> None:
    with running(fast_settings(tmp_path)) as app:
        client = failing_app(app, KeyError("a bug"))
        with capture_logs() as logs:
            response = client.get("/api/v1/broken")
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/json"
        error = response.json()["error"]
        assert error["code"] == "internal_error"
        assert "a bug" not in error["message"]  # the details stay in the log
        request_id = error["request_id"]
        assert re.fullmatch(r"[0-9a-f]{32}", request_id) and response.headers["x-request-id"] == request_id
        failures = [e for e in logs if e["event"] == "request.failed"]
        assert [e["request_id"] for e in failures] == [request_id] and failures[0]["path"] == "/api/v1/broken"

        page = client.get("/broken-page")
        assert page.status_code == 500 and "text/html" in page.headers["content-type"]
        assert page.headers["x-request-id"] in page.text


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")), 409, "conflict"),
        (OperationalError("SELECT", {}, Exception("database is locked")), 503, "unavailable"),
    ],
)
def test_database_errors_say_what_to_do(tmp_path: Path, error: Exception, status: int, code: str) -> None:
    with running(fast_settings(tmp_path)) as app:
        response = failing_app(app, error).get("/api/v1/broken")
        assert response.status_code == status and response.json()["error"]["code"] == code
        assert response.headers["x-request-id"]
        assert "retry" in response.json()["error"]["message"].lower()
        assert "UNIQUE" not in response.text and "locked" not in response.text


def test_every_answer_carries_a_request_id_and_a_sane_one_is_kept(app: Running) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", app.client.get("/health").headers["x-request-id"])
    kept = app.client.get("/health", headers={"X-Request-Id": "lb-7f3a.2"})
    assert kept.headers["x-request-id"] == "lb-7f3a.2"
    forged = app.client.get("/health", headers={"X-Request-Id": 'x" onmouseover=alert(1) ' + "y" * 80})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])
    refused = app.client.get("/api/v1/projects/1/events", headers={"X-Request-Id": "abc"})
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "abc"
