"""`belvedere project create|list`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import orjson
import typer

from belvedere.accounts import projects
from belvedere.accounts.organisations import members
from belvedere.accounts.plans import Plans
from belvedere.accounts.service import list_projects
from belvedere.accounts.settings import ProjectSettings
from belvedere.cli.common import Json, load_settings, metadata_engine, print_records
from belvedere.platform.db import make_session_factory, transaction

app = typer.Typer(help="Manage projects.", no_args_is_help=True, add_completion=False)


class VisitorId(StrEnum):
    hash = "hash"
    none = "none"


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Project name")],
    org: Annotated[str, typer.Option("--org", help="Organisation name; created when new")] = "Default",
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="Email of an existing account: the new organisation's owner"),
    ] = None,
    timezone: Annotated[str, typer.Option("--timezone", help="IANA time zone for days and weeks")] = "UTC",
    session_timeout: Annotated[
        int | None,
        typer.Option("--session-timeout", min=1, max=1440, help="Minutes of inactivity that end a visit"),
    ] = None,
    visitor_id: Annotated[
        VisitorId,
        typer.Option("--visitor-id", help="hash: daily-salted ids for anonymous visitors; none: no id"),
    ] = VisitorId.hash,
    domain: Annotated[
        list[str] | None,
        typer.Option(
            "--domain",
            help="A site of the project (repeatable): page events from other sites are dropped, and"
            " Plausible's events name the project by it",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create a project (within its organisation's plan) and print its write key (for trackers), its read API
    key (shown only once) and who can open it in the web app."""
    settings = load_settings()
    options = ProjectSettings(
        session_timeout_minutes=session_timeout, visitor_id=visitor_id.value, domains=domain or []
    )
    with transaction(make_session_factory(metadata_engine(settings))) as session:
        created, organisation = projects.create_for_operator(
            session,
            organisation=org,
            name=name,
            plans=Plans(settings.plans),
            timezone=timezone,
            settings=options,
            owner_email=owner,
        )
        slug = organisation.slug
        people = [
            m for m in members(session, organisation_id=organisation.id) if m["role"] in ("owner", "admin")
        ]
    answer = {
        "project_id": created.project.id,
        "write_key": created.write_key,
        "read_key": created.api_key,
        "api_key": created.api_key,  # the read key's former name, kept for scripts that read it
    }
    if as_json:
        typer.echo(orjson.dumps(answer).decode())
        return
    typer.echo(f"Project {name!r} created (id {created.project.id}) in organisation {org!r}.")
    typer.echo(f"  write key (trackers, public): {created.write_key}")
    typer.echo(f"  read key (secret, shown once): {created.api_key}")
    if people:
        who = ", ".join(f"{p['email']} ({p['role']})" for p in people)
        typer.echo(
            f"In the web app: {who} can open it at {settings.base_url}/app/projects/{created.project.id}."
        )
    else:
        typer.echo(
            "Nobody can open it in the web app yet: add an owner with "
            f"`belvedere user create --email YOU@EXAMPLE.COM --org {slug} --role owner`."
        )


@app.command("list")
def list_(json: Json = False) -> None:
    """List projects with their organisation, time zone and write key."""
    settings = load_settings()
    with transaction(make_session_factory(metadata_engine(settings))) as session:
        rows = list_projects(session)
    records = [
        {
            "id": p.id,
            "organisation": org_name,
            "name": p.name,
            "time_zone": p.timezone,
            "write_key": write_key,
        }
        for p, org_name, write_key in rows
    ]
    print_records(
        records, json=json, empty="No projects yet: create one with `belvedere project create --name NAME`."
    )
