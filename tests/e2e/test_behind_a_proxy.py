"""Issue #25, finding 7, against a real server behind a (simulated) reverse proxy on 127.0.0.1.

Behind a proxy every request arrives from the proxy's address. With `server.trusted_proxies` naming it, each
visitor is known by the address the proxy forwards: one visitor's bad logins lock out that visitor only,
and capture geolocates the visitor, not the proxy, whether capture workers answer or the owner does.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from tests.e2e.server_kit import Server, cli
from tests.waiting import eventually


def _login(server: Server, email: str, client: str) -> int:
    response = httpx.post(
        f"{server.url}/api/v1/auth/login",
        json={"email": email, "password": "not the password at all"},
        headers={"X-Forwarded-For": client},
    )
    return response.status_code


@pytest.mark.parametrize("workers", ["0", "2"])
def test_each_visitor_behind_the_proxy_has_its_own_throttle(tmp_path: Path, workers: str) -> None:
    made = cli(tmp_path, "project", "create", "--name", "Site", "--json")
    project = orjson.loads(made.stdout)
    server = Server(
        tmp_path,
        BELVEDERE_SERVER__TRUSTED_PROXIES='["127.0.0.1"]',
        BELVEDERE_SERVER__CAPTURE_WORKERS=workers,
        BELVEDERE_AUTH__LOGIN_IP_ATTEMPTS="5",
    ).start()
    try:
        attacker, visitor = "198.51.100.66", "203.0.113.7"
        assert [_login(server, f"ghost{i}@example.test", attacker) for i in range(5)] == [401] * 5
        assert _login(server, "ghost9@example.test", attacker) == 429
        # A forged hop left of the proxy's does not make the attacker someone else.
        assert _login(server, "ghost9@example.test", f"{visitor}, {attacker}") == 429
        assert _login(server, "someone@example.test", visitor) == 401  # not locked out by the attacker

        event = {"type": "page", "distinct_id": "v", "context": {"page": {"url": "https://x.example/"}}}
        sent = httpx.post(
            f"{server.url}/api/v1/capture",
            json={"batch": [event]},
            headers={"Authorization": f"Bearer {project['write_key']}", "X-Forwarded-For": "8.8.8.8"},
        )
        assert sent.status_code in (200, 202), sent.text
        query = {"kind": "sql", "query": "SELECT country FROM events"}
        read = {"Authorization": f"Bearer {project['api_key']}"}
        url = f"{server.url}/api/v1/projects/{project['project_id']}/query"

        def rows() -> list[object]:
            answer = httpx.post(url, json=query, headers=read, timeout=30).json()
            return list(answer.get("rows", []))

        assert eventually(lambda: rows() != [], interval=0.1)  # stored within the writer's flush interval
        assert rows() == [["US"]]
    finally:
        server.stop()
