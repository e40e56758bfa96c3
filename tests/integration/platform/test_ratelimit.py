"""The rate limiter on both storages: in memory (one process) and Redis (shared by several processes)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from tests.integration.accounts.kit import build_world, fast_settings
from tests.integration.capture_kit import running

from belvedere.platform.ratelimit import RateLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["memory", "redis"])
def storage_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.ConnectionError as exc:  # pragma: no cover - the test command starts Redis
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture
def limiter(storage_url: str) -> Iterator[RateLimiter]:
    yield RateLimiter(storage_url, namespace=f"test-{uuid.uuid4().hex}")


def test_fixed_window_counts_and_refuses(limiter: RateLimiter) -> None:
    verdicts = [limiter.hit("k", 3, 1) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert all(0 < v.reset_seconds <= 60 for v in verdicts)
    refused = verdicts[-1].headers()
    assert refused["RateLimit-Limit"] == "3" and refused["RateLimit-Policy"] == "3;w=60"
    assert int(refused["Retry-After"]) >= 1
    assert "Retry-After" not in verdicts[0].headers()
    assert limiter.hit("other", 3, 1).allowed  # keys are independent


def test_moving_window_counts_and_clears(limiter: RateLimiter) -> None:
    assert [limiter.hit("login", 2, 15, exact=True).allowed for _ in range(3)] == [True, True, False]
    blocked = limiter.hit("login", 2, 15, exact=True)
    assert not blocked.allowed and 0 < blocked.reset_seconds <= 900
    limiter.clear("login", 2, 15)
    assert limiter.hit("login", 2, 15, exact=True).allowed


def test_two_limiters_on_redis_share_counters() -> None:
    namespace = f"test-{uuid.uuid4().hex}"
    first, second = RateLimiter(REDIS_URL, namespace), RateLimiter(REDIS_URL, namespace)
    assert first.hit("shared", 2, 1).allowed and second.hit("shared", 2, 1).allowed
    assert not first.hit("shared", 2, 1).allowed
    assert first.ping()


def test_brute_force_and_api_limits_run_on_redis(tmp_path: Path) -> None:
    plans = {"tiny": {"rank": 1, "api_requests_per_15min": 2, "features": []}, "unlimited": {"rank": 2}}
    settings = fast_settings(tmp_path, plans=plans, rate_limit={"storage_url": REDIS_URL})
    with running(settings) as app:
        app.runtime.limiter._ns = f"test-{uuid.uuid4().hex}"  # isolate from other runs sharing the server
        world = build_world(app, plan="tiny")
        viewer = world.people["viewer"]
        url = f"/api/v1/orgs/{world.org_id}"
        assert [app.client.get(url, headers=viewer.auth()).status_code for _ in range(3)] == [200, 200, 429]
        keys = redis.Redis.from_url(REDIS_URL).keys(f"*{app.runtime.limiter._ns}*")
        assert keys  # the counters live in Redis
        for _ in range(5):
            app.client.post(
                "/api/v1/auth/login", json={"email": "x@example.test", "password": "wrong password x"}
            )
        throttled = app.client.post(
            "/api/v1/auth/login", json={"email": "x@example.test", "password": "y" * 12}
        )
        assert throttled.status_code == 429
