"""The `belvedere` command: project management, migrate, import into a running server, demo."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import orjson
import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from tests.e2e.server_kit import Server, cli, env_for, free_port

from belvedere.accounts.service import get_project
from belvedere.config import INSECURE_SECRET, Settings
from belvedere.platform.db import make_engine, make_session_factory, transaction

pytestmark = pytest.mark.slow


def test_project_create_prints_the_key_contract_and_list_shows_it(tmp_path: Path) -> None:
    made = cli(
        tmp_path,
        "project",
        "create",
        "--name",
        "Shop",
        "--org",
        "Acme",
        "--timezone",
        "Europe/Paris",
        "--json",
    )
    assert made.returncode == 0, made.stderr
    answer = orjson.loads(made.stdout)
    assert set(answer) == {"project_id", "write_key", "read_key", "api_key"}
    assert answer["write_key"].startswith("bw_") and answer["read_key"].startswith("bk_")
    assert answer["api_key"] == answer["read_key"]  # the former name, kept for scripts
    listed = cli(tmp_path, "project", "list")
    assert "Shop" in listed.stdout and "Acme" in listed.stdout and answer["write_key"] in listed.stdout
    assert answer["api_key"] not in listed.stdout
    bad = cli(tmp_path, "project", "create", "--name", "X", "--timezone", "Nowhere/Special")
    assert bad.returncode == 2 and "unknown time zone" in bad.stderr


def test_project_settings_from_the_command_line(tmp_path: Path) -> None:
    made = cli(
        tmp_path,
        "project",
        "create",
        "--name",
        "Quiet",
        "--session-timeout",
        "10",
        "--visitor-id",
        "none",
        "--json",
    )
    assert made.returncode == 0, made.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'belvedere.db'}")
    with transaction(make_session_factory(engine)) as session:
        project = get_project(session, project_id=orjson.loads(made.stdout)["project_id"])
    assert project is not None
    assert (project.settings.session_timeout_minutes, project.settings.visitor_id) == (10, "none")
    out_of_range = cli(tmp_path, "project", "create", "--name", "Y", "--session-timeout", "0")
    assert out_of_range.returncode == 2


def test_migrate_reports_the_revision(tmp_path: Path) -> None:
    result = cli(tmp_path, "migrate")
    assert result.returncode == 0 and "revision 0008" in result.stdout


@pytest.mark.parametrize("env", ["production", "test"])
def test_only_development_accepts_the_public_secret(tmp_path: Path, env: str) -> None:
    result = cli(tmp_path, "migrate", BELVEDERE_ENV=env, BELVEDERE_SECRET_KEY=INSECURE_SECRET)
    assert result.returncode == 2 and "BELVEDERE_SECRET_KEY must be set" in result.stderr


def test_development_warns_when_it_serves_other_machines_with_the_public_secret(tmp_path: Path) -> None:
    """Issue #25 (finding 9): the server used to run silently with the public default secret."""
    env = env_for(tmp_path, BELVEDERE_ENV="development", BELVEDERE_SECRET_KEY=INSECURE_SECRET)
    command = [sys.executable, "-m", "belvedere", "serve", "--host", "0.0.0.0", "--port", str(free_port())]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        first = server.stderr.readline()
        assert "WARNING: Listening on 0.0.0.0 with the public development secret" in first
    finally:
        server.terminate()
        server.wait(timeout=30)
    local = Settings(env="development", server={"host": "127.0.0.1"})  # type: ignore[arg-type]
    assert local.exposure_warning() is None
    keyed = Settings(env="development", secret_key="k" * 40, server={"host": "0.0.0.0"})  # type: ignore[arg-type]
    assert keyed.exposure_warning() is None


def test_import_feeds_the_running_server_and_reports_rejections(tmp_path: Path) -> None:
    key = orjson.loads(cli(tmp_path, "project", "create", "--name", "Imp", "--json").stdout)["write_key"]
    source = tmp_path / "events.ndjson"
    lines = [
        orjson.dumps({"event": "imported", "distinct_id": f"u{i % 40}", "timestamp": 1_700_000_000_000 + i})
        for i in range(2500)
    ]
    lines.insert(10, b"{broken json")
    lines.insert(20, orjson.dumps({"type": "bogus"}))
    source.write_bytes(b"\n".join(lines) + b"\n")
    server = Server(tmp_path).start()
    try:
        result = cli(tmp_path, "import", str(source), "--write-key", key, "--url", server.url)
    finally:
        server.stop()
    assert result.returncode == 1, result.stderr  # some lines were rejected
    assert (
        "accepted 2500, dropped 0 (bots, or filtered by the project's settings), rejected 2" in result.stdout
    )
    assert "line 11: malformed_json" in result.stdout and "line 21: invalid_type" in result.stdout
    with duckdb.connect(str(tmp_path / "events.duckdb"), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM events WHERE event = 'imported'").fetchone() == (2500,)


def test_import_without_a_server_says_how_to_start_one(tmp_path: Path) -> None:
    source = tmp_path / "one.ndjson"
    source.write_text('{"event": "x"}\n')
    result = cli(tmp_path, "import", str(source), "--write-key", "bw_x", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1 and "belvedere serve" in result.stderr


def test_demo_loads_two_projects_of_history_once(tmp_path: Path) -> None:
    first = cli(tmp_path, "demo", "--events", "6000", "--no-serve")
    assert first.returncode == 0, first.stderr
    assert "PropManager (project 1)" in first.stdout and "AI Chat (project 2)" in first.stdout
    assert "read key bk_" in first.stdout and "write key bw_" in first.stdout
    again = cli(tmp_path, "demo", "--events", "6000", "--no-serve")
    assert again.returncode == 0 and "generation skipped" in again.stdout
    # The printed login works, and each run prints a new password that replaces the last.
    passwords = [run.stdout.split("with password ")[1].split()[0] for run in (first, again)]
    assert passwords[0] != passwords[1]
    with sqlite3.connect(tmp_path / "belvedere.db") as meta:
        (stored,) = meta.execute(
            "SELECT password_hash FROM users WHERE email = 'demo@belvedere.local'"
        ).fetchone()
        (role,) = meta.execute("SELECT role FROM memberships").fetchone()
    assert role == "owner"
    assert PasswordHasher().verify(stored, passwords[1])
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(stored, passwords[0])
    with duckdb.connect(str(tmp_path / "events.duckdb"), read_only=True) as db:
        per_project = dict(db.execute("SELECT project_id, count(*) FROM events GROUP BY 1").fetchall())
        events = {e for (e,) in db.execute("SELECT DISTINCT event FROM events").fetchall()}
        channels = {c for (c,) in db.execute("SELECT DISTINCT channel FROM events").fetchall()}
    assert set(per_project) == {1, 2} and 5000 < sum(per_project.values()) <= 6600
    assert {"$pageview", "payment_received", "message_sent", "$identify", "$alias"} <= events
    assert {"Direct", "Organic Search", "Email"} <= channels
