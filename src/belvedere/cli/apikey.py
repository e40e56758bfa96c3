"""`belvedere apikey create`: a personal API key for a member of an organisation, shown once."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import orjson
import typer

from belvedere.accounts.organisations import find_user, membership
from belvedere.accounts.personal_keys import create_key
from belvedere.accounts.roles import at_least
from belvedere.auth import securitylog
from belvedere.cli.common import fail, find_organisation, load_settings, metadata_engine
from belvedere.platform.db import make_session_factory, transaction

app = typer.Typer(help="Manage personal API keys.", no_args_is_help=True, add_completion=False)


class Scope(StrEnum):
    """Mirrors `belvedere.accounts.roles.SCOPES` (a test keeps them equal)."""

    read = "read"
    write = "write"
    admin = "admin"


@app.command("create")
def create(
    org: Annotated[str, typer.Option("--org", help="Organisation id or slug")],
    user: Annotated[str, typer.Option("--user", help="Email of the member who owns the key")],
    scopes: Annotated[
        list[Scope] | None,
        typer.Option("--scope", help="read, write or admin; repeat for several [default: read]"),
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="Label to recognise the key by")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create a personal API key for a member of an organisation and print it (shown only once)."""
    settings = load_settings()
    chosen = set(scopes or [Scope.read])
    wanted = [s.value for s in Scope if s in chosen]
    try:
        with transaction(make_session_factory(metadata_engine(settings))) as session:
            organisation = find_organisation(session, org)
            owner = find_user(session, email=user)
            if owner is None:
                raise ValueError("no user with that email: create one with `belvedere user create`")
            member = membership(session, organisation_id=organisation.id, user_id=owner.id)
            if member is None:
                raise ValueError(
                    f"{owner.email} is not a member of {organisation.slug}: "
                    "add them with `belvedere user create --org` or an invitation"
                )
            if Scope.admin in wanted and not at_least(member.role, "admin"):
                raise ValueError(f"the admin scope needs an admin or owner; {owner.email} is a {member.role}")
            view, secret = create_key(
                session, organisation_id=organisation.id, user_id=owner.id, label=label or "", scopes=wanted
            )
            securitylog.record(
                session,
                [organisation.id],
                "key_created",
                actor=owner.id,
                where=securitylog.Origin(),
                key_id=view["id"],
                via="cli",
            )
            org_id, slug = organisation.id, organisation.slug
    except ValueError as exc:
        fail(str(exc))
    answer = {"key_id": view["id"], "key": secret, "scopes": view["scopes"], "organisation_id": org_id}
    if as_json:
        typer.echo(orjson.dumps(answer).decode())
        return
    typer.echo(f"Personal API key {view['id']} created for {user} in {slug}, scopes: {' '.join(wanted)}.")
    typer.echo(f"  key (secret, shown once; store it now): {secret}")
