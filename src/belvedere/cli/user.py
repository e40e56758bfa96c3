"""`belvedere user create`: accounts made by an operator (verified at once, no email round trip)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import orjson
import typer

from belvedere.accounts.models import Membership
from belvedere.accounts.organisations import create_user, find_user
from belvedere.auth.passwords import Passwords
from belvedere.cli.common import fail, find_organisation, load_settings, metadata_engine
from belvedere.platform.db import make_session_factory, transaction

app = typer.Typer(help="Manage users.", no_args_is_help=True, add_completion=False)


class Role(StrEnum):
    """Mirrors `belvedere.accounts.roles.ROLES` (a test keeps them equal)."""

    owner = "owner"
    admin = "admin"
    member = "member"
    viewer = "viewer"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.read().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


@app.command("create")
def create(
    email: Annotated[str, typer.Option("--email", help="Email address, used to log in")],
    name: Annotated[str | None, typer.Option("--name", help="Display name")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin instead of prompting")
    ] = False,
    org: Annotated[
        str | None, typer.Option("--org", help="Add the user to this organisation (id or slug)")
    ] = None,
    role: Annotated[
        Role | None,
        typer.Option("--role", help="Role in --org: owner, admin, member or viewer [default: member]"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create a user with a verified email, optionally as a member of an organisation."""
    settings = load_settings()
    if role is not None and org is None:
        fail("--role needs --org")
    sessions = make_session_factory(metadata_engine(settings))
    try:
        # Check what can be checked before asking for a password.
        with transaction(sessions) as session:
            if find_user(session, email=email) is not None:
                raise ValueError("An account with this email already exists.")
            if org is not None:
                find_organisation(session, org)
        passwords = Passwords(settings.auth)
        password = _read_password(password_stdin)
        passwords.check_policy(password, email=email)
        password_hash = passwords.hash(password)
        with transaction(sessions) as session:
            user = create_user(session, email=email, password_hash=password_hash, name=name or "")
            user.email_verified_at = datetime.now(UTC)  # an operator vouches for it
            answer: dict[str, object] = {"user_id": user.id, "email": user.email}
            if org is not None:
                organisation = find_organisation(session, org)
                member_role = (role or Role.member).value
                session.add(Membership(organisation_id=organisation.id, user_id=user.id, role=member_role))
                answer |= {"organisation_id": organisation.id, "role": member_role}
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(orjson.dumps(answer).decode())
        return
    typer.echo(f"User {answer['email']} created (id {answer['user_id']}), email marked verified.")
    if org is not None:
        typer.echo(f"  {answer['role']} of organisation {org} (id {answer['organisation_id']})")
