"""Issue #29: `belvedere migrate-metadata` moves a used SQLite install's metadata into PostgreSQL — every
row of every table, the ids' sequences advanced, resumable after an interruption, refused into a database
that holds other data — and the application then works on the copy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine
from tests.e2e.server_kit import cli
from tests.integration.accounts.kit import build_world, fast_settings
from tests.integration.capture_kit import running

from belvedere.accounts.service import find_project_by_write_key
from belvedere.platform import copy_metadata, migrate
from belvedere.platform.db import make_engine, make_session_factory, transaction

pytestmark = pytest.mark.postgres


def _used_install(tmp_path: Path) -> tuple[Engine, Any]:
    settings = fast_settings(tmp_path / "sqlite")
    with running(settings) as app:
        world = build_world(app)
    return make_engine(settings.metadata_url), world


def _normal(value: Any) -> Any:
    """A value as both databases mean it: instants in UTC (SQLite hands them back without their zone)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    found = {}
    with engine.connect() as connection:
        for table in copy_metadata.tables():
            order = list(table.primary_key.columns) or list(table.columns)
            rows = connection.execute(select(table).order_by(*order)).mappings()
            found[table.name] = [{k: _normal(v) for k, v in row.items()} for row in rows]
    return found


def test_the_models_cover_every_table_the_migrations_create(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'meta.db'}")
    migrate.upgrade(engine)
    created = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert {t.name for t in copy_metadata.tables()} == created


def test_a_used_install_moves_to_postgresql_row_for_row(tmp_path: Path, postgres_url: str) -> None:
    source, world = _used_install(tmp_path)
    target = make_engine(postgres_url)
    counts = copy_metadata.plan(source, target)
    assert sum(c.source for c in counts) > 30 and not any(c.target for c in counts)
    copied: list[int] = []
    assert copy_metadata.copy(source, target, on_rows=copied.append) == []
    assert sum(copied) == sum(c.source for c in counts)
    assert _rows(target) == _rows(source)  # every value of every row, not only the counts
    # The application works on the copy, and new rows get new ids (the sequences were advanced).
    settings = fast_settings(tmp_path / "pg", database_url=postgres_url)
    with running(settings) as app:  # creates an organisation and a project of its own
        assert app.project.project.id > world.other_project_id
        with transaction(make_session_factory(target)) as session:
            found = find_project_by_write_key(session, write_key=world.write_key)
        assert found is not None and found.id == world.project_id
        owner = world.people["owner"]
        response = app.client.get(f"/api/v1/projects/{world.project_id}", headers=owner.auth())
        assert response.status_code == 200, response.text


def test_an_interrupted_copy_is_resumed(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, _ = _used_install(tmp_path)
    target = make_engine(postgres_url)
    real_insert = copy_metadata.insert
    inserts: list[str] = []

    def failing(table: Any) -> Any:
        inserts.append(table.name)
        if len(inserts) == 4:  # the fourth table with rows: its transaction is rolled back
            raise OSError("the machine went down")
        return real_insert(table)

    monkeypatch.setattr(copy_metadata, "insert", failing)
    with pytest.raises(OSError):
        copy_metadata.copy(source, target)
    monkeypatch.undo()
    partial = copy_metadata.plan(source, target)
    assert any(c.target for c in partial) and any(c.source and not c.target for c in partial)
    assert copy_metadata.copy(source, target) == []
    assert _rows(target) == _rows(source)


def test_a_target_holding_other_data_is_refused(tmp_path: Path, postgres_url: str) -> None:
    source, _ = _used_install(tmp_path)
    with running(fast_settings(tmp_path / "pg", database_url=postgres_url)):
        pass  # an install of its own: an organisation, a project
    with pytest.raises(copy_metadata.CopyRefused, match="not empty"):
        copy_metadata.copy(source, make_engine(postgres_url))


def test_the_command_copies_and_says_how_to_use_the_copy(tmp_path: Path, postgres_url: str) -> None:
    data = tmp_path / "data"
    made = cli(data, "project", "create", "--name", "Shop", "--org", "Demo", "--json")
    assert made.returncode == 0, made.stderr
    project = json.loads(made.stdout)
    done = cli(data, "migrate-metadata", "--to", postgres_url)
    assert done.returncode == 0, done.stderr
    assert "Copied and verified" in done.stdout and "BELVEDERE_DATABASE_URL=" in done.stdout
    again = cli(data, "migrate-metadata", "--to", postgres_url)  # every table copied already: nothing to do
    assert again.returncode == 0 and "Resuming" in again.stdout, again.stderr
    listed = cli(data, "project", "list", "--json", BELVEDERE_DATABASE_URL=postgres_url)
    assert listed.returncode == 0, listed.stderr
    [found] = json.loads(listed.stdout)
    assert (found["id"], found["write_key"]) == (project["project_id"], project["write_key"])
