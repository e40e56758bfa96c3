"""PostHog's own Python client (posthog 7.x, unchanged) pointed at a real `belvedere serve` by its host and
the project's write key: its events, people and aliases are stored and answered by the query API, and the
client sees no error (it treats any status but 200 as one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import posthog
import pytest
from tests.e2e.server_kit import Server, cli
from tests.waiting import eventually

pytestmark = pytest.mark.slow


def _events(server: Server, project: dict[str, Any]) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/api/v1/projects/{project['project_id']}/events?limit=100",
        headers={"Authorization": f"Bearer {project['read_key']}"},
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["results"]
    return found


def test_the_posthog_python_client_works_unchanged(tmp_path: Path) -> None:
    created = cli(tmp_path, "project", "create", "--name", "Shop", "--json")
    assert created.returncode == 0, created.stderr
    project = orjson.loads(created.stdout)
    server = Server(tmp_path, BELVEDERE_WRITER__FLUSH_INTERVAL_MS="50").start()
    errors: list[Any] = []
    try:
        for gzip in (False, True):
            client = posthog.Posthog(
                project["write_key"],
                host=server.url,
                gzip=gzip,
                sync_mode=True,
                on_error=lambda error, batch: errors.append(error),
            )
            who = f"anon-{int(gzip)}"
            at = datetime.now(UTC) - timedelta(minutes=3)
            client.capture(
                "$pageview",
                distinct_id=who,
                properties={"$current_url": "https://shop.example/pricing"},
                timestamp=at,
            )
            client.capture("signed_up", distinct_id=who, properties={"plan": "pro"}, timestamp=at)
            client.alias(previous_id=who, distinct_id=f"user-{int(gzip)}")
            client.set(distinct_id=f"user-{int(gzip)}", properties={"company": "Acme"})
            client.flush()
            client.shutdown()
        assert errors == []

        def stored() -> bool:
            return len(_events(server, project)) == 8

        assert eventually(stored, timeout=15, interval=0.2)
        events = _events(server, project)
        names = sorted(e["event"] for e in events)
        assert names == sorted(["$pageview", "signed_up", "$alias", "$identify"] * 2)
        views = [e for e in events if e["event"] == "$pageview"]
        assert {e["path"] for e in views} == {"/pricing"}
        signed = next(e for e in events if e["event"] == "signed_up")
        assert signed["properties"]["plan"] == "pro" and signed["properties"]["$lib"] == "posthog-python"
        assert (signed["browser"], signed["device_type"]) == (None, None)  # a client library: no device
        response = httpx.post(
            f"{server.url}/api/v1/projects/{project['project_id']}/query",
            json={"kind": "trends", "date_from": "-1d", "series": [{"math": "unique_users"}], "totals": True},
            headers={"Authorization": f"Bearer {project['read_key']}"},
        )
        # Each anonymous id aliased to its user: two people.
        assert response.json()["series"][0]["total"] == 2
    finally:
        server.stop()
