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
from belvedere.platform import migrate
from belvedere.platform.db import make_engine
from belvedere.platform.logging import configure_logging

PG_ADMIN_URL = os.environ.get("BELVEDERE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def pytest_configure(config: pytest.Config) -> None:
    # Logging as the product configures it (plain tracebacks, not structlog's defaults, which print every
    # frame's locals and took seconds per logged error), uncached so that ``capture_logs`` sees the events.
    configure_logging("info", cache=False)


TEST_SECRET = "test-secret-key-of-the-test-suite-0123456789"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "secret_key": TEST_SECRET,
        "data_dir": data_dir,
        "writer": {"flush_interval_ms": 50, "batch_rows": 5000},
        # User SQL at the server's CPU priority: in the idle class (the default) a statement starves while
        # the suite's workers keep both cores busy, and runs out of its time. The end-to-end servers keep the
        # default (the fairness test measures it); store/test_sandbox_priority.py checks each priority.
        "query": {"sql_cpu_priority": "normal", **dict(overrides.pop("query", {}))},  # type: ignore[call-overload]
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
def fresh_pg_database(admin_url: str, template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (SQLAlchemy URL), dropped on exit: empty, or a copy of ``template``."""
    name = f"belvedere_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[str]:
    """The name of a database migrated to head once per test process (each pytest-xdist worker has its
    own), for tests to copy instead of running every migration again: the migrations then find nothing left
    to do, as with SQLite's template (``capture_kit.start_from_template``).

    PostgreSQL copies a database only while no session is connected to it: the engine that migrated it is
    disposed of, and connections to it are refused from then on (a test that opened one would break the
    copies of every test after it)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"belvedere_template_{worker}_{uuid.uuid4().hex[:8]}"  # runs side by side do not share it
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(postgres_server).set(drivername="postgresql+psycopg", database=name)
        engine = make_engine(url.render_as_string(hide_password=False))
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        yield name
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards: for tests of the migrations."""
    with fresh_pg_database(postgres_server) as url:
        yield url


@pytest.fixture
def migrated_postgres_url(postgres_server: str, postgres_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, already migrated to head (a copy of the template)."""
    with fresh_pg_database(postgres_server, template=postgres_template) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def metadata_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each metadata test runs once on SQLite and once on PostgreSQL. The PostgreSQL database is already
    migrated to head (``migrate.upgrade`` finds nothing to do there); tests of the migrations themselves
    take ``empty_metadata_url``."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    url: str = request.getfixturevalue("migrated_postgres_url")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_metadata_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """``metadata_url``, with an empty database on both: for tests of the migrations."""
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
