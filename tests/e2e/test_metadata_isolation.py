"""Issue #25, finding 4: reading the metadata SQLite file through user SQL broke it (DuckDB closing the
file dropped SQLite's locks in the server; the next CLI command unlinked the live write-ahead log, and
acknowledged sign-ups were lost even after a clean restart).

Against a real server: the review's statements aimed at the metadata database, a statement that kills its
sandbox worker and one that times out, then a CLI command while the server runs, another sign-up, a restart.
Every sign-up must survive, with its login, and SQLite must find its file intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import orjson
import pytest
from tests.e2e.server_kit import Server, cli
from tests.e2e.test_query_fairness import _count, _send
from tests.e2e.test_sql_memory import BOMBS
from tests.waiting import eventually

pytestmark = pytest.mark.slow
PASSWORD = "a long and unusual passphrase 42"


def _signup(server: Server, email: str) -> None:
    body = {"email": email, "password": PASSWORD, "organisation": email.split("@")[0]}
    assert httpx.post(f"{server.url}/api/v1/auth/signup", json=body).status_code == 201


def _logs_in(server: Server, email: str) -> bool:
    body = {"email": email, "password": PASSWORD}
    return httpx.post(f"{server.url}/api/v1/auth/login", json=body).status_code == 200


def test_hostile_or_failing_user_sql_cannot_touch_the_metadata_database(tmp_path: Path) -> None:
    made = cli(tmp_path, "project", "create", "--name", "Site", "--json")
    project = orjson.loads(made.stdout)
    metadata = tmp_path / "belvedere.db"
    hostile = [
        f"SELECT * FROM read_blob('{metadata}')",
        f"SELECT * FROM read_text('{metadata}-wal')",
        f"SELECT * FROM '{metadata}'",
        f"ATTACH '{metadata}' AS meta (TYPE sqlite)",
        f"SELECT * FROM sqlite_scan('{metadata}', 'users')",
        "SELECT j.* FROM (VALUES (1)) t(x), LATERAL json_execute_serialized_sql(json_serialize_sql("
        f"'SELECT * FROM read_blob(''{metadata}'')')) j",
        BOMBS["growing strings"][0],  # the sandbox worker dies of its memory cap
        BOMBS["endless"][0],  # stopped at its time limit
    ]
    server = Server(tmp_path, BELVEDERE_QUERY__SQL_MEMORY_MB="256").start()
    try:
        _signup(server, "before@example.test")
        _send(server, project["write_key"], 300)  # rows for the failing statements to work on
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert eventually(lambda: _count(client, project) >= 300, timeout=30, interval=0.1)
        url = f"{server.url}/api/v1/projects/{project['project_id']}/query"
        read = {"Authorization": f"Bearer {project['api_key']}"}
        for statement in hostile:
            answer = httpx.post(
                url, json={"kind": "sql", "query": statement, "timeout_seconds": 3}, headers=read, timeout=60
            )
            assert answer.status_code == 422, (statement, answer.text)
            assert "CREATE TABLE" not in answer.text and "before@example.test" not in answer.text
        listed = cli(tmp_path, "org", "list")  # a second process on the live database, as in the review
        assert listed.returncode == 0 and "before" in listed.stdout
        _signup(server, "after@example.test")
        assert _logs_in(server, "before@example.test") and _logs_in(server, "after@example.test")
    finally:
        server.stop()
    with sqlite3.connect(metadata) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        emails = {email for (email,) in db.execute("SELECT email FROM users")}
    assert emails == {"before@example.test", "after@example.test"}
    restarted = Server(tmp_path).start()
    try:
        assert _logs_in(restarted, "before@example.test") and _logs_in(restarted, "after@example.test")
    finally:
        restarted.stop()
