"""A world for access tests: organisation A with one user per role, a project, an invitation and a key;
organisation B with its own owner. Users are made directly (one Argon2 hash shared), tokens issued by the
real token service, so each world costs a few rows."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from tests.conftest import make_settings
from tests.integration.capture_kit import Running

from belvedere.accounts import invitations, personal_keys
from belvedere.accounts.models import Membership
from belvedere.accounts.organisations import create_organisation, create_user
from belvedere.accounts.roles import ROLES
from belvedere.accounts.service import create_project_in
from belvedere.config import Settings
from belvedere.dashboards import notes
from belvedere.dashboards import service as dashboards
from belvedere.platform.db import transaction

PASSWORD = "correct horse battery staple"
_serial = itertools.count(1)


def fast_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Cheap Argon2 (the tests hash many passwords) and cookies over plain HTTP."""
    auth = {"argon2_memory_kib": 1024, "argon2_time_cost": 1, "argon2_parallelism": 1, "cookie_secure": False}
    auth.update(overrides.pop("auth", {}))
    return make_settings(data_dir, auth=auth, **overrides)


@cache
def _password_hash(hasher_key: tuple[int, int]) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=hasher_key[1], memory_cost=hasher_key[0], parallelism=1).hash(PASSWORD)


@dataclass
class Person:
    user_id: int
    email: str
    token: str

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    org_id: int
    project_id: int
    write_key: str
    read_key: str
    invitation_id: int
    key_id: int
    people: dict[str, Person]  # by role, and "outsider" (owner of organisation B)
    other_org_id: int
    other_project_id: int
    insight_id: int = 0  # a saved insight, a dashboard and a widget showing it, in project_id
    dashboard_id: int = 0
    widget_id: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    marks: dict[str, int] = field(default_factory=dict)  # each table's highest id before the world was built


def add_person(app: Running, org_id: int | None, role: str | None, email: str | None = None) -> Person:
    runtime = app.runtime
    auth = runtime.settings.auth
    email = email or f"user{next(_serial)}@example.test"
    with transaction(runtime.sessions) as session:
        user = create_user(
            session,
            email=email,
            password_hash=_password_hash((auth.argon2_memory_kib, auth.argon2_time_cost)),
        )
        if org_id is not None and role is not None:
            session.add(Membership(organisation_id=org_id, user_id=user.id, role=role))
        user_id, token = user.id, runtime.auth.issue(session, user).access_token
    return Person(user_id, email, token)


def build_world(app: Running, *, plan: str = "unlimited") -> World:
    runtime = app.runtime
    n = next(_serial)
    marks = high_ids(app)
    with transaction(runtime.sessions) as session:
        org = create_organisation(session, name=f"Acme {n}", owner=None, plan=plan)
        other = create_organisation(session, name=f"Rival {n}", owner=None, plan=plan)
        org_id, other_id = org.id, other.id
        project = create_project_in(session, organisation_id=org_id, name="Site", timezone="UTC")
        other_project = create_project_in(session, organisation_id=other_id, name="Theirs")
    people = {role: add_person(app, org_id, role) for role in ROLES}
    people["outsider"] = add_person(app, other_id, "owner")
    with transaction(runtime.sessions) as session:
        inv, _ = invitations.invite(
            session,
            organisation_id=org_id,
            email=f"invitee{n}@example.test",
            role="member",
            invited_by=people["owner"].user_id,
            days=7,
        )
        view, _ = personal_keys.create_key(
            session, organisation_id=org_id, user_id=people["member"].user_id, label="k", scopes=["read"]
        )
        invitation_id, key_id = inv.id, int(str(view["id"]))
        query = {"kind": "stats", "date_from": "-7d"}
        item = dashboards.save_insight(
            session, project_id=project.project.id, name="KPIs", query=query, user_id=None
        )
        board = dashboards.create_dashboard(session, project_id=project.project.id, name="Board")
        widget = dashboards.add_widget(session, board, item)
        insight_id, dashboard_id, widget_id = item.id, board.id, widget.id
        note = notes.annotate(
            session, project_id=project.project.id, day=date(2020, 6, 1), note="Launch", user_id=None
        )
        note_id = note.id
    return World(
        org_id=org_id,
        project_id=project.project.id,
        write_key=project.write_key,
        read_key=project.api_key,
        invitation_id=invitation_id,
        key_id=key_id,
        people=people,
        other_org_id=other_id,
        other_project_id=other_project.project.id,
        insight_id=insight_id,
        dashboard_id=dashboard_id,
        widget_id=widget_id,
        extra={"annotation_id": note_id},
        marks=marks,
    )


TENANT_TABLES = (
    "organisations",
    "projects",
    "memberships",
    "invitations",
    "personal_api_keys",
    "api_keys",
    "users",
    "insights",
    "dashboards",
    "dashboard_widgets",
    "annotations",
)


def high_ids(app: Running) -> dict[str, int]:
    """Each tenancy table's highest id: the rows a world built afterwards adds lie above it."""
    from sqlalchemy import text

    with app.runtime.engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar_one())
            for t in TENANT_TABLES
        }


def snapshot(app: Running, *worlds: World) -> dict[str, object]:
    """What a refused call must leave as it was: each tenancy table's row count and highest id (a row added
    or removed anywhere), and every column (use times aside) of the rows of ``worlds`` (with none, of every
    row). A world's rows are those of its two organisations, the caller's and the outsider's, so a call
    refused there that changes either shows. Reading every row of a table that grows by a world per test
    made each check slower than the last (the role matrix: ~85 % of its time, 100 ms a test)."""
    from sqlalchemy import text

    tables: dict[str, object] = {}
    with app.runtime.engine.connect() as conn:
        for table in TENANT_TABLES:
            count = conn.execute(text(f"SELECT count(*), max(id) FROM {table}")).one()
            where = " OR ".join(f"id > {int(w.marks[table])}" for w in worlds) or "TRUE"
            rows = conn.execute(text(f"SELECT * FROM {table} WHERE {where}")).mappings()
            tables[table] = (
                tuple(count),
                sorted(tuple(str(v) for k, v in row.items() if k != "last_used_at") for row in rows),
            )
    return tables
