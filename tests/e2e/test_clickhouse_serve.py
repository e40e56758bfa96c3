"""Issue #29, first step: `belvedere serve` on the ClickHouse event store, chosen by a setting alone
(`BELVEDERE_STORE__KIND=clickhouse`, no URL: ClickHouse embedded by chDB in the data directory, through the
same clickhouse-connect calls a server gets). Events captured over HTTP are stored, answered by the query
API with the numbers sent, and still there after a restart; nothing is written to a DuckDB file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
from tests.e2e.server_kit import Server, cli

CLICKHOUSE = {"BELVEDERE_STORE__KIND": "clickhouse"}


def _ask(server: Server, project: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/api/v1/projects/{project['project_id']}/query",
        json=body,
        headers={"Authorization": f"Bearer {project['read_key']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _signups(server: Server, project: dict[str, Any], expected: int) -> dict[str, Any]:
    """The trend of `signed_up` once it counts ``expected`` (events are stored within a second or two)."""
    body = {"kind": "trends", "date_from": "-6d", "series": [{"event": "signed_up"}]}
    deadline = time.monotonic() + 20
    while True:
        trend = _ask(server, project, body)
        if sum(trend["series"][0]["data"]) >= expected or time.monotonic() > deadline:
            return trend
        time.sleep(0.2)


def test_serve_stores_and_answers_on_the_clickhouse_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = cli(data, "project", "create", "--name", "Shop", "--org", "Demo", "--json", **CLICKHOUSE)
    assert made.returncode == 0, made.stderr
    project = json.loads(made.stdout)
    server = Server(data, **CLICKHOUSE).start()
    try:
        ready = httpx.get(f"{server.url}/ready", timeout=5).json()
        assert ready["components"]["event_store"]["engine"] == "clickhouse", ready
        plans = ["free", "pro", "pro", "pro", "pro"]
        events = [
            {"event": "signed_up", "distinct_id": f"user-{n % 3}", "properties": {"plan": plan}}
            for n, plan in enumerate(plans)
        ]
        events.append(
            {"event": "$pageview", "distinct_id": "user-0", "properties": {"$current_url": "https://a.test/"}}
        )
        sent = httpx.post(
            f"{server.url}/api/v1/capture",
            json={"batch": events},
            headers={"Authorization": f"Bearer {project['write_key']}"},
            timeout=10,
        )
        assert sent.status_code == 202 and sent.json()["accepted"] == 6, sent.text
        trend = _signups(server, project, 5)
        assert sum(trend["series"][0]["data"]) == 5
        people = _ask(
            server,
            project,
            {
                "kind": "trends",
                "date_from": "-6d",
                "series": [{"event": "signed_up", "math": "unique_users"}],
            },
        )
        assert max(people["series"][0]["data"]) == 3  # user-0, user-1, user-2 on the same day
        by_plan = _ask(
            server,
            project,
            {
                "kind": "trends",
                "date_from": "-6d",
                "series": [{"event": "signed_up"}],
                "breakdown": "properties.plan",
            },
        )
        totals = {s["breakdown_value"]: sum(s["data"]) for s in by_plan["series"]}
        assert totals == {"pro": 4, "free": 1}
    finally:
        assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a clean shutdown
    assert (data / "events.clickhouse").is_dir() and not (data / "events.duckdb").exists()

    again = Server(data, **CLICKHOUSE).start()  # the events outlive the process
    try:
        assert sum(_signups(again, project, 5)["series"][0]["data"]) == 5
    finally:
        again.stop()


def test_migrate_store_moves_a_duckdb_install_to_clickhouse(tmp_path: Path) -> None:
    data = tmp_path / "data"
    project = json.loads(cli(data, "project", "create", "--name", "Shop", "--org", "Demo", "--json").stdout)
    server = Server(data).start()  # DuckDB, the default
    try:
        events = [
            {
                "event": "signed_up",
                "distinct_id": f"user-{n}",
                "properties": {"plan": "pro" if n % 2 else "free"},
            }
            for n in range(7)
        ]
        sent = httpx.post(
            f"{server.url}/api/v1/capture",
            json={"batch": events},
            headers={"Authorization": f"Bearer {project['write_key']}"},
            timeout=10,
        )
        assert sent.status_code == 202, sent.text
        before = _signups(server, project, 7)
        busy = cli(data, "migrate-store", "--to", "clickhouse")
        assert busy.returncode == 2 and "stop `belvedere serve`" in busy.stderr, busy.stderr
    finally:
        server.stop()

    moved = cli(data, "migrate-store", "--to", "clickhouse")
    assert moved.returncode == 0, moved.stderr
    assert "Copied and verified 7 events" in moved.stdout, moved.stdout
    assert "BELVEDERE_STORE__KIND=clickhouse" in moved.stdout

    after = Server(data, **CLICKHOUSE).start()
    try:
        ready = httpx.get(f"{after.url}/ready", timeout=5).json()
        assert ready["components"]["event_store"]["engine"] == "clickhouse"
        assert _signups(after, project, 7)["series"] == before["series"]
    finally:
        after.stop()
