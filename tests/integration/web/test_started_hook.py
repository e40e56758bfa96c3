"""``BelvedereApp(on_started=...)`` runs once the runtime has started, before the first request is served
(``belvedere serve`` settles its heap there)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from tests.integration.accounts.kit import fast_settings

from belvedere.app import BelvedereApp
from belvedere.runtime import Runtime


def test_on_started_runs_after_the_runtime_starts_and_before_requests(tmp_path: Path) -> None:
    runtime = Runtime(fast_settings(tmp_path))
    seen: list[bool] = []
    app = BelvedereApp(runtime, on_started=lambda: seen.append(runtime.started))
    assert seen == []
    with TestClient(app) as client:
        assert seen == [True]  # called once, with the runtime already started
        assert client.get("/health").status_code == 200
        assert seen == [True]
