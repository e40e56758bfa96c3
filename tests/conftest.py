"""Shared fixtures: real SQLite/PostgreSQL metadata databases, a real DuckDB store, a running runtime."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from belvedere.config import Settings

PG_ADMIN_URL = os.environ.get("BELVEDERE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


TEST_SECRET = "test-secret-key-of-the-test-suite-0123456789"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "secret_key": TEST_SECRET,
        "data_dir": data_dir,
        "writer": {"flush_interval_ms": 50, "batch_rows": 5000},
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:  # pragma: no cover - the test command starts PostgreSQL
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    return PG_ADMIN_URL


@contextmanager
def fresh_pg_database(admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (SQLAlchemy URL), dropped on exit."""
    name = f"belvedere_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_pg_database(postgres_server) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def metadata_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each metadata test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def city_mmdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny city database in MaxMind format, built for the tests with mmdb-writer."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="Test-City",
        languages=["en"],
        description="Belvedere test city database",
    )
    writer.insert_network(
        IPSet(["203.0.113.0/24"]),
        {
            "country": {"iso_code": "FR", "names": {"en": "France"}},
            "subdivisions": [{"iso_code": "IDF", "names": {"en": "Île-de-France"}}],
            "city": {"names": {"en": "Paris"}},
        },
    )
    writer.insert_network(
        IPSet(["2001:db8:1::/48"]),
        {"country": {"iso_code": "CA", "names": {"en": "Canada"}}, "city": {"names": {"en": "Montréal"}}},
    )
    path = tmp_path_factory.mktemp("geo") / "test-city.mmdb"
    writer.to_db_file(str(path))
    return path
