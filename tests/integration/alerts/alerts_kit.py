"""A running Belvedere for the alert tests: jobs polled fast, deliveries allowed to reach local receivers,
a clock the tests can move forward (for retries due later), and events sent at chosen instants."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.integration.accounts.kit import World, build_world, fast_settings
from tests.integration.capture_kit import Running, running
from tests.waiting import eventually

CAPTURE = "/api/v1/capture"


class Clock:
    """Real time plus an offset the test moves forward: the queue sees retries fall due without waiting."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@dataclass
class Site:
    app: Running
    world: World
    clock: Clock

    @property
    def client(self) -> Any:
        return self.app.client

    def auth(self, role: str = "admin") -> dict[str, str]:
        return self.world.people[role].auth()

    def url(self, path: str) -> str:
        return f"/api/v1/projects/{self.world.project_id}{path}"

    def post(self, path: str, body: Any = None, role: str = "admin") -> Any:
        return self.client.post(self.url(path), json=body, headers=self.auth(role))

    def get(self, path: str, role: str = "admin", **params: Any) -> Any:
        return self.client.get(self.url(path), params=params, headers=self.auth(role))

    def send(self, events: list[tuple[str, datetime]], person: str = "p") -> None:
        """Events of the world's project at the given instants, stored before this returns."""
        before = self.app.runtime.store.count_events(project_id=self.world.project_id)
        batch = [
            {"event": name, "distinct_id": f"{person}-{i}", "timestamp": int(at.timestamp() * 1000)}
            for i, (name, at) in enumerate(events)
        ]
        auth = {"Authorization": f"Bearer {self.world.write_key}"}
        answer = self.client.post(CAPTURE, json={"batch": batch}, headers=auth)
        assert answer.status_code == 202 and answer.json()["accepted"] == len(events), answer.text
        assert self.app.wait_stored(before + len(events), self.world.project_id) == before + len(events)

    def job_done(self, delivery: int | None = None) -> bool:
        """No job is pending or running (all that was queued has run to an outcome)."""
        counts = self.app.runtime.jobs.stats().counts
        return not any(n for (_, status), n in counts.items() if status in ("pending", "running"))


def hour_start(hours_ago: int) -> datetime:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now - timedelta(hours=hours_ago)


@contextmanager
def site(tmp_path: Path, plan: str = "unlimited", **overrides: Any) -> Iterator[Site]:
    clock = Clock()
    values: dict[str, Any] = {
        "jobs": {"poll_seconds": 0.05},
        "outbound": {"allow_private_networks": True, "timeout_seconds": 2},
    }
    values.update(overrides)
    with running(fast_settings(tmp_path / "data", **values)) as app:
        app.runtime.jobs.clock = clock
        yield Site(app, build_world(app, plan=plan), clock)


def settle(s: Site, timeout: float = 15) -> None:
    assert eventually(s.job_done, timeout=timeout, interval=0.05), s.app.runtime.jobs.list(limit=5)
