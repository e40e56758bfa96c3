"""`belvedere org|user|apikey`: what operators do from the command line, checked in the database itself.

The commands run in-process (Typer's runner, real stdin and prompts) against a real SQLite metadata
database: a subprocess per call would spend seconds importing the server for each of them."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import TEST_SECRET
from typer.testing import CliRunner, Result

from belvedere import __version__
from belvedere.accounts.keys import hash_key
from belvedere.accounts.models import Membership, Organisation, PersonalApiKey, User
from belvedere.accounts.personal_keys import authenticate_key
from belvedere.accounts.plans import STATUSES
from belvedere.accounts.roles import ROLES, SCOPES
from belvedere.auth.models import SecurityEvent
from belvedere.auth.passwords import Passwords
from belvedere.cli import app
from belvedere.cli.apikey import Scope
from belvedere.cli.org import Status
from belvedere.cli.user import Role
from belvedere.config import AuthSettings, Settings
from belvedere.platform.db import make_engine, make_session_factory, transaction
from belvedere.platform.mail import OutboxEmail

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [k for k in os.environ if k.startswith("BELVEDERE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BELVEDERE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BELVEDERE_ENV", "test")
    monkeypatch.setenv("BELVEDERE_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("BELVEDERE_AUTH__ARGON2_MEMORY_KIB", "1024")  # fast hashing
    monkeypatch.setenv("BELVEDERE_AUTH__ARGON2_TIME_COST", "1")
    return tmp_path


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


def run_json(*args: str, stdin: str | None = None) -> dict[str, Any]:
    result = run(*args, "--json", stdin=stdin)
    assert result.exit_code == 0, result.output
    answer: dict[str, Any] = orjson.loads(result.stdout)
    return answer


def db(data_dir: Path) -> Session:
    return make_session_factory(make_engine(f"sqlite:///{data_dir / 'belvedere.db'}"))()


def test_choices_mirror_the_domain() -> None:
    assert tuple(Status) == STATUSES
    assert set(Role) == set(ROLES)
    assert tuple(Scope) == SCOPES


def test_org_create_with_plan_trial_and_owner_and_refusals(data_dir: Path) -> None:
    plain = run_json("org", "create", "--name", "Acme Inc")
    assert plain == {"organisation_id": 1, "slug": "acme-inc", "plan": "unlimited", "status": "active"}
    trial = run_json("org", "create", "--name", "Acme Inc", "--plan", "basic", "--trial-days", "14")
    assert (trial["slug"], trial["plan"], trial["status"]) == ("acme-inc-2", "basic", "trial")

    bad_plan = run("org", "create", "--name", "X", "--plan", "gold")
    assert bad_plan.exit_code == 2
    assert "gold" in bad_plan.stderr and "basic, premium, enterprise, unlimited" in bad_plan.stderr
    no_owner = run("org", "create", "--name", "Y", "--owner", "ghost@example.com")
    assert no_owner.exit_code == 2 and "belvedere user create" in no_owner.stderr

    run_json("user", "create", "--email", "boss@example.com", "--password-stdin", stdin=PASSWORD)
    owned = run_json("org", "create", "--name", "Owned", "--owner", "BOSS@example.com")
    with db(data_dir) as session:
        expires = session.scalar(
            select(Organisation.expires_at).where(Organisation.id == trial["organisation_id"])
        )
        roles = session.execute(
            select(User.email, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organisation_id == owned["organisation_id"])
        ).all()
        count = len(session.scalars(select(Organisation)).all())
    assert expires is not None and 13 <= (expires.replace(tzinfo=UTC) - datetime.now(UTC)).days <= 14
    assert roles == [("boss@example.com", "owner")]
    assert count == 3  # the refused ones left nothing behind

    listed = run("org", "list")
    assert listed.exit_code == 0
    assert (
        "acme-inc-2\tAcme Inc\tbasic\ttrial" in listed.stdout and "owned\tOwned\tunlimited" in listed.stdout
    )


def test_user_create_with_membership_and_a_password_that_verifies(data_dir: Path) -> None:
    org = run_json("org", "create", "--name", "Shop")
    made = run_json(
        "user",
        "create",
        "--email",
        "Ana@Example.com",
        "--name",
        "Ana",
        "--password-stdin",
        "--org",
        "shop",
        "--role",
        "admin",
        stdin=PASSWORD + "\n",
    )
    assert made == {
        "user_id": made["user_id"],
        "email": "ana@example.com",
        "organisation_id": org["organisation_id"],
        "role": "admin",
    }
    by_id = run_json(
        "user",
        "create",
        "--email",
        "bo@example.com",
        "--org",
        str(org["organisation_id"]),
        stdin=f"{PASSWORD}\n" * 2,
    )  # prompted twice (hidden input, confirmation); member by default
    assert by_id["role"] == "member"

    with db(data_dir) as session:
        user = session.get(User, made["user_id"])
        assert user is not None
        member = session.scalar(
            select(Membership).where(
                Membership.user_id == user.id, Membership.organisation_id == org["organisation_id"]
            )
        )
        assert member is not None and member.role == "admin"
        assert user.name == "Ana" and user.email_verified_at is not None
        passwords = Passwords(AuthSettings(argon2_memory_kib=1024, argon2_time_cost=1))
        assert passwords.verify(user.password_hash, PASSWORD)
        assert not passwords.verify(user.password_hash, PASSWORD + "\n")

    no_org = run(
        "user",
        "create",
        "--email",
        "c@example.com",
        "--password-stdin",
        "--org",
        "nope",
        stdin=PASSWORD,
    )
    assert no_org.exit_code == 2 and "belvedere org list" in no_org.stderr
    role_alone = run("user", "create", "--email", "c@example.com", "--role", "admin", stdin=PASSWORD)
    assert role_alone.exit_code == 2 and "--org" in role_alone.stderr


def test_weak_passwords_and_taken_emails_are_refused(data_dir: Path) -> None:
    common = run("user", "create", "--email", "a@example.com", "--password-stdin", stdin="password123")
    assert common.exit_code == 2 and "breached" in common.stderr
    short = run("user", "create", "--email", "a@example.com", "--password-stdin", stdin="x7#kQ")
    assert short.exit_code == 2 and "at least 10 characters" in short.stderr
    same_as_email = run(
        "user",
        "create",
        "--email",
        "longname@example.com",
        "--password-stdin",
        stdin="LongName@example.com",
    )
    assert same_as_email.exit_code == 2 and "email" in same_as_email.stderr

    run_json("user", "create", "--email", "a@example.com", "--password-stdin", stdin=PASSWORD)
    taken = run("user", "create", "--email", " A@EXAMPLE.com", "--password-stdin", stdin=PASSWORD)
    assert taken.exit_code == 2 and "already exists" in taken.stderr
    with db(data_dir) as session:
        assert session.scalars(select(User.email)).all() == ["a@example.com"]


def test_apikey_create_stores_only_the_hash_and_respects_the_role(data_dir: Path) -> None:
    org = run_json("org", "create", "--name", "Keys")
    org_id = org["organisation_id"]
    for email, role in (("admin@example.com", "admin"), ("member@example.com", "member")):
        run_json(
            "user",
            "create",
            "--email",
            email,
            "--password-stdin",
            "--org",
            "keys",
            "--role",
            role,
            stdin=PASSWORD,
        )
    run_json("user", "create", "--email", "outsider@example.com", "--password-stdin", stdin=PASSWORD)

    read_only = run_json("apikey", "create", "--org", "keys", "--user", "member@example.com")
    assert read_only["scopes"] == ["read"] and read_only["organisation_id"] == org_id
    made = run_json(
        "apikey",
        "create",
        "--org",
        str(org_id),
        "--user",
        "admin@example.com",
        "--scope",
        "admin",
        "--scope",
        "read",
        "--label",
        "ci",
    )
    assert set(made) == {"key_id", "key", "scopes", "organisation_id"}
    assert made["key"].startswith("bp_") and made["scopes"] == ["read", "admin"]

    with transaction(make_session_factory(make_engine(f"sqlite:///{data_dir / 'belvedere.db'}"))) as session:
        row = session.get(PersonalApiKey, made["key_id"])
        assert row is not None and row.key_hash == hash_key(made["key"]) and row.label == "ci"
        assert made["key"] not in (row.key_hash, row.prefix)
        owner = authenticate_key(session, secret=made["key"])
        assert owner is not None
        assert (owner.key_id, owner.organisation_id, owner.scopes) == (
            made["key_id"],
            org_id,
            ["read", "admin"],
        )
        logged = session.scalars(select(SecurityEvent).where(SecurityEvent.kind == "key_created")).all()
        assert [(e.organisation_id, e.detail) for e in logged] == [
            (org_id, {"key_id": read_only["key_id"], "via": "cli"}),
            (org_id, {"key_id": made["key_id"], "via": "cli"}),
        ]

    human = run("apikey", "create", "--org", "keys", "--user", "member@example.com", "--scope", "write")
    assert human.exit_code == 0 and "shown once" in human.stdout and "bp_" in human.stdout
    too_high = run("apikey", "create", "--org", "keys", "--user", "member@example.com", "--scope", "admin")
    assert too_high.exit_code == 2 and "admin" in too_high.stderr
    outsider = run("apikey", "create", "--org", "keys", "--user", "outsider@example.com")
    assert outsider.exit_code == 2 and "not a member" in outsider.stderr
    unknown_scope = run("apikey", "create", "--org", "keys", "--user", "admin@example.com", "--scope", "root")
    assert unknown_scope.exit_code == 2
    with db(data_dir) as session:
        assert len(session.scalars(select(PersonalApiKey)).all()) == 3


def test_org_set_changes_plan_status_and_expiry(data_dir: Path) -> None:
    org = run_json("org", "create", "--name", "Tenant", "--trial-days", "7")
    org_id = org["organisation_id"]
    suspended = run_json("org", "set", "tenant", "--status", "suspended", "--plan", "premium")
    assert (suspended["status"], suspended["plan"]) == ("suspended", "premium")
    with db(data_dir) as session:
        row = session.get(Organisation, org_id)
        assert (
            row is not None
            and (row.status, row.plan) == ("suspended", "premium")
            and row.expires_at is not None
        )

    active = run_json("org", "set", str(org_id), "--status", "active", "--expires-at", "none")
    assert (active["status"], active["expires_at"]) == ("active", None)
    dated = run_json("org", "set", "tenant", "--expires-at", "2031-01-02T03:04:05")
    assert dated["expires_at"] == "2031-01-02T03:04:05+00:00"
    with db(data_dir) as session:
        row = session.get(Organisation, org_id)
        assert row is not None and row.status == "active"
        assert row.expires_at is not None and row.expires_at.replace(tzinfo=UTC) == datetime(
            2031, 1, 2, 3, 4, 5, tzinfo=UTC
        )
        kinds = session.scalars(
            select(SecurityEvent.kind).where(SecurityEvent.organisation_id == org_id)
        ).all()
    assert kinds == ["organisation_updated"] * 3

    for args, message in (
        (("tenant", "--status", "bankrupt"), "bankrupt"),
        (("tenant", "--plan", "gold"), "basic, premium"),
        (("tenant", "--expires-at", "soon"), "ISO"),
        (("tenant",), "nothing to change"),
        (("nowhere", "--status", "active"), "belvedere org list"),
    ):
        refused = run("org", "set", *args)
        assert refused.exit_code == 2 and message in refused.stderr, (args, refused.stderr)


def test_mail_outbox_shows_the_operator_every_email_even_without_an_organisation(data_dir: Path) -> None:
    """Issue #25 (finding 9): without SMTP, a reset link stays in the outbox and no longer reaches the log
    outside development; the operator reads it here (an organisation's admins see only their own)."""
    assert run("mail", "outbox").stdout.startswith("The outbox is empty")
    run_json("org", "create", "--name", "Acme")  # creates the database
    with db(data_dir) as session, session.begin():
        # Rows as the mailer writes them (not through it: the CLI configured logging in this process).
        reset = "Reset your Belvedere password"
        session.add(OutboxEmail(recipient="ada@example.com", subject=reset, body="token=bt_x1"))
        invited = {"organisation_id": 1, "subject": "Invitation", "body": "token=bi_y2"}
        session.add(OutboxEmail(recipient="bob@example.com", **invited))
    listed = run("mail", "outbox")
    assert listed.exit_code == 0 and "Reset your Belvedere password" in listed.stdout
    assert "bt_x1" not in listed.stdout  # bodies only when asked for
    mine = run("mail", "outbox", "--to", "ADA@example.com", "--body")
    assert "token=bt_x1" in mine.stdout and "bob@example.com" not in mine.stdout
    everything = orjson.loads(run("mail", "outbox", "--json").stdout)
    assert [(m["to"], m["body"]) for m in everything] == [
        ("bob@example.com", "token=bi_y2"),
        ("ada@example.com", "token=bt_x1"),
    ]


def test_project_create_gives_a_new_organisation_an_owner_and_keeps_to_its_plan(data_dir: Path) -> None:
    """Issue #26: `project create --org` made an organisation nobody could open, outside any plan limit."""
    nobody = run("project", "create", "--name", "Site", "--org", "Loose")
    assert nobody.exit_code == 0 and "Nobody can open it in the web app yet" in nobody.stdout
    assert "belvedere user create --email YOU@EXAMPLE.COM --org loose --role owner" in nobody.stdout

    assert (
        run("user", "create", "--email", "ada@example.com", "--password-stdin", stdin=PASSWORD).exit_code == 0
    )
    owned = run("project", "create", "--name", "Shop", "--org", "Acme", "--owner", "ada@example.com")
    assert owned.exit_code == 0 and "ada@example.com (owner) can open it at http" in owned.stdout
    with db(data_dir) as session:
        org = session.scalars(select(Organisation).where(Organisation.slug == "acme")).one()
        roles = [
            (m.user_id, m.role)
            for m in session.scalars(select(Membership).where(Membership.organisation_id == org.id))
        ]
    assert len(roles) == 1 and roles[0][1] == "owner"

    ghost = run("project", "create", "--name", "X", "--org", "New", "--owner", "ghost@example.com")
    assert ghost.exit_code == 2 and "No account uses ghost@example.com" in ghost.stderr
    not_in = run("project", "create", "--name", "Y", "--org", "Loose", "--owner", "ada@example.com")
    assert not_in.exit_code == 2 and "exists already" in not_in.stderr

    # The plan's project limit holds here as in the web app and the API.
    assert run("org", "set", "acme", "--plan", "basic").exit_code == 0
    limit = Settings().plans["basic"].projects
    assert limit is not None
    for i in range(limit - 1):
        assert run("project", "create", "--name", f"P{i}", "--org", "Acme").exit_code == 0
    refused = run("project", "create", "--name", "One too many", "--org", "Acme")
    assert refused.exit_code == 2 and "plan" in refused.stderr


def test_version_json_lists_and_a_new_data_directory_said_out_loud(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #27 (the first run): ``--version``; ``--json`` on list commands, ``[]`` when empty; a warning
    on stderr when a command creates the data directory (only then)."""
    new = tmp_path / "not-yet"
    monkeypatch.setenv("BELVEDERE_DATA_DIR", str(new))
    monkeypatch.setenv("BELVEDERE_ENV", "test")
    monkeypatch.setenv("BELVEDERE_SECRET_KEY", TEST_SECRET)
    version = run("--version")
    assert version.exit_code == 0 and version.stdout.strip() == f"belvedere {__version__}"
    first = run("project", "list", "--json")
    assert first.exit_code == 0 and orjson.loads(first.stdout) == []
    assert f"Creating a new, empty data directory at {new.resolve()}" in first.stderr
    assert run("org", "create", "--name", "Acme").exit_code == 0
    again = run("org", "list", "--json")
    assert "Creating a new" not in again.stderr  # it exists now
    orgs = orjson.loads(again.stdout)
    assert [(o["name"], o["plan"], o["expires"]) for o in orgs] == [("Acme", "unlimited", None)]
    assert isinstance(orgs[0]["id"], int)
    table = run("org", "list")
    assert table.exit_code == 0 and "Acme" in table.stdout and not table.stdout.lstrip().startswith("[")
