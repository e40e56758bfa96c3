"""Helpers for tests that drive the real app in-process: a started runtime and a client for it."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi.testclient import TestClient
from tests.waiting import eventually as eventually  # re-exported: some tests import it from here

from belvedere.accounts.projects import create_for_operator
from belvedere.accounts.service import CreatedProject
from belvedere.accounts.settings import ProjectSettings
from belvedere.app import BelvedereApp
from belvedere.config import Settings
from belvedere.platform import migrate
from belvedere.platform.db import make_engine, transaction
from belvedere.runtime import Runtime

IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)


@dataclass
class Running:
    runtime: Runtime
    client: TestClient
    project: CreatedProject

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.project.write_key}"}

    def read_auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.project.api_key}"}

    def new_project(self, name: str, settings: ProjectSettings | None = None) -> CreatedProject:
        with transaction(self.runtime.sessions) as s:
            plans = self.runtime.plans
            return create_for_operator(s, organisation="Test", name=name, settings=settings, plans=plans)[0]

    def wait_stored(self, count: int, project_id: int | None = None, timeout: float = 10.0) -> int:
        """How many events the project has in the store once it has ``count`` (or ``timeout`` passed)."""
        project = project_id or self.project.project.id
        eventually(lambda: self.runtime.store.count_events(project_id=project) >= count, timeout)
        return self.runtime.store.count_events(project_id=project)

    def flush(self) -> None:
        """Wait until the writer has moved everything spooled into the store."""
        eventually(lambda: not self.runtime.spool.depth_bytes, timeout=10)


@cache
def _migrated_sqlite() -> Path:
    """A metadata database migrated once per test process: each test starts from a copy of it instead of
    running every migration again (the runtime then finds nothing left to do)."""
    folder = Path(tempfile.mkdtemp(prefix="belvedere-template-"))
    engine = make_engine(f"sqlite:///{folder / 'belvedere.db'}")
    migrate.upgrade(engine)
    engine.dispose()
    return folder / "belvedere.db"


def start_from_template(settings: Settings) -> None:
    """Give a test's data folder the migrated metadata database, when it uses the default SQLite file."""
    target = settings.data_dir / "belvedere.db"
    if settings.database_url is None and not target.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_sqlite(), target)


@contextmanager
def running(settings: Settings) -> Iterator[Running]:
    start_from_template(settings)
    runtime = Runtime(settings)
    runtime.start()
    try:
        with transaction(runtime.sessions) as s:
            project, _ = create_for_operator(
                s, organisation="Test", name="Site", timezone="Europe/Paris", plans=runtime.plans
            )
        with TestClient(BelvedereApp(runtime, manage_runtime=False)) as client:
            yield Running(runtime, client, project)
    finally:
        runtime.stop()


def form_token(html: str) -> str:
    """The hidden token of the page's form (pages refuse a form without it)."""
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found
    return found.group(1)
