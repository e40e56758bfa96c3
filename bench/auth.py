"""Authentication and admission costs against a real `belvedere serve` process over loopback HTTP: a login,
an authenticated API call (JWT, personal key) beside an unauthenticated one, and a capture request on an
unmetered and on a metered plan. A benchmark, not a test: run it by hand and copy the table into
docs/benchmarks.md.

    .venv/bin/python bench/auth.py

Requests are sequential on one keep-alive connection, so each figure is one request's round trip with the
server otherwise idle. Default settings (Argon2id: 64 MiB, 3 passes, 2 lanes).
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.server_kit import Server, cli  # noqa: E402

PASSWORD = "a long and unusual passphrase 42"
PLANS = {
    "unlimited": {"rank": 2, "features": ["api"]},
    # Limits high enough never to refuse, so that every check runs in full.
    "metered": {"rank": 1, "ingest_requests_per_minute": 10**9, "events_per_month": 10**12},
}


def timed(fn: Callable[[], httpx.Response], runs: int, expect: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = fn()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == expect, response.text
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.99) - 1)]


def main() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="belvedere-auth-bench-"))
    env = {"BELVEDERE_PLANS": json.dumps(PLANS)}
    keys = {}
    for plan in ("unlimited", "metered"):
        org = f"Bench {plan}"
        assert cli(data_dir, "org", "create", "--name", org, "--plan", plan, **env).returncode == 0
        created = cli(data_dir, "project", "create", "--name", "Site", "--org", org, "--json", **env)
        keys[plan] = json.loads(created.stdout)["write_key"]
    server = Server(data_dir, **env).start()
    rows: list[tuple[str, float, float]] = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            credentials = {"email": "bench@example.test", "password": PASSWORD}
            signup = client.post("/api/v1/auth/signup", json={**credentials, "organisation": "B"}).json()
            org = f"/api/v1/orgs/{signup['organisation']['id']}"
            jwt = {"Authorization": f"Bearer {signup['access_token']}"}
            key = client.post(f"{org}/api-keys", json={"scopes": ["read"]}, headers=jwt).json()["key"]
            personal = {"Authorization": f"Bearer {key}"}
            rows.append(
                (
                    "POST /api/v1/auth/login",
                    *timed(lambda: client.post("/api/v1/auth/login", json=credentials), 30, 200),
                )
            )
            rows.append(
                ("GET /health (no auth, for scale)", *timed(lambda: client.get("/health"), 1000, 200))
            )
            rows.append(
                ("GET /api/v1/orgs/{id} with a JWT", *timed(lambda: client.get(org, headers=jwt), 1000, 200))
            )
            rows.append(
                (
                    "GET /api/v1/orgs/{id} with a personal key",
                    *timed(lambda: client.get(org, headers=personal), 1000, 200),
                )
            )
            event = {"event": "bench", "distinct_id": "u1"}
            for plan, write_key in keys.items():
                headers = {"Authorization": f"Bearer {write_key}"}
                rows.append(
                    (
                        f"POST /api/v1/capture, one event, {plan} plan",
                        *timed(
                            lambda h=headers: client.post("/api/v1/capture", json=event, headers=h), 2000, 202
                        ),
                    )
                )
    finally:
        server.stop()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}; real server on loopback")
    print("| Request | median ms | p99 ms |\n|---|---|---|")
    for name, median, p99 in rows:
        print(f"| {name} | {median:.2f} | {p99:.2f} |")


if __name__ == "__main__":
    main()
