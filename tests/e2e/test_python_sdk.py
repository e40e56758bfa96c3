"""Belvedere's Python SDK (sdk/, its own package) against a real `belvedere serve`: a visit sent in the
background and flushed, a serverless-style call in sync mode, and a wrong key heard by on_error — then the
events read back through the query API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.e2e.server_kit import Server, cli
from tests.waiting import eventually

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sdk" / "src"))

from belvedere_sdk import Belvedere, SendError

pytestmark = pytest.mark.slow


def _events(server: Server, project: dict[str, Any]) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/api/v1/projects/{project['project_id']}/events?limit=100",
        headers={"Authorization": f"Bearer {project['read_key']}"},
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["results"]
    return found


def test_the_sdk_against_a_real_server(tmp_path: Path) -> None:
    created = cli(tmp_path, "project", "create", "--name", "Shop", "--json")
    assert created.returncode == 0, created.stderr
    project = orjson.loads(created.stdout)
    server = Server(tmp_path, BELVEDERE_WRITER__FLUSH_INTERVAL_MS="50").start()
    try:
        client = Belvedere(project["write_key"], server.url, flush_interval=0.05)
        client.page(
            "anon-1", "https://shop.example/pricing", referrer="https://www.google.com/", title="Pricing"
        )
        client.capture("anon-1", "signed_up", {"plan": "pro"})
        client.alias("user-1", "anon-1")
        client.identify("user-1", {"company": "Acme"})
        client.flush()
        assert (client.dropped, client.failed) == (0, 0)
        serverless = Belvedere(project["write_key"], server.url, sync_mode=True)
        serverless.capture("user-1", "invoice_paid", {"amount": 49})
        assert eventually(lambda: len(_events(server, project)) == 5, timeout=15, interval=0.2)
        events = {e["event"]: e for e in _events(server, project)}
        assert set(events) == {"$pageview", "signed_up", "$alias", "$identify", "invoice_paid"}
        view = events["$pageview"]
        assert (view["path"], view["title"], view["channel"]) == ("/pricing", "Pricing", "Organic Search")
        assert events["signed_up"]["properties"] == {"plan": "pro"}
        people = httpx.post(
            f"{server.url}/api/v1/projects/{project['project_id']}/query",
            json={"kind": "trends", "date_from": "-1d", "series": [{"math": "unique_users"}], "totals": True},
            headers={"Authorization": f"Bearer {project['read_key']}"},
        )
        assert people.json()["series"][0]["total"] == 1
        heard: list[tuple[SendError, int]] = []
        wrong = Belvedere("bw_wrong", server.url, on_error=lambda e, batch: heard.append((e, len(batch))))
        wrong.capture("u", "x")
        wrong.shutdown()
        assert [(e.status, n) for e, n in heard] == [(401, 1)] and wrong.failed == 1
        client.shutdown()
        serverless.shutdown()
    finally:
        server.stop()
