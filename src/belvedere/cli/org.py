"""`belvedere org create|set|list`: organisations, their plan and subscription status, for operators."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import orjson
import typer
from sqlalchemy import select

from belvedere.accounts.models import Organisation
from belvedere.accounts.organisations import OrgView, create_organisation, find_user
from belvedere.accounts.plans import Plans, is_live
from belvedere.auth import securitylog
from belvedere.cli.common import Json, fail, find_organisation, load_settings, metadata_engine, print_records
from belvedere.config import Settings
from belvedere.platform.db import make_session_factory, transaction

app = typer.Typer(help="Manage organisations.", no_args_is_help=True, add_completion=False)


class Status(StrEnum):
    """Mirrors `belvedere.accounts.plans.STATUSES` (a test keeps them equal)."""

    trial = "trial"
    active = "active"
    past_due = "past_due"
    suspended = "suspended"
    expired = "expired"


def _check_plan(settings: Settings, plan: str) -> None:
    if plan not in settings.plans:
        fail(f"unknown plan {plan!r}: use one of {', '.join(Plans(settings.plans).names)}")


def _expiry(value: str) -> datetime | None:
    if value.strip().lower() == "none":
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--expires-at {value!r} is not an ISO date or time (e.g. 2026-12-31T00:00:00Z) nor `none`")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Organisation name")],
    plan: Annotated[
        str | None, typer.Option("--plan", help="Plan name [default: BELVEDERE_AUTH__SIGNUP_PLAN]")
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Email of an existing user who becomes the owner")
    ] = None,
    trial_days: Annotated[
        int | None,
        typer.Option(
            "--trial-days",
            min=0,
            help="Start as a trial that expires after this many days; 0: no trial "
            "[default: BELVEDERE_AUTH__TRIAL_DAYS]",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Create an organisation, optionally owned by an existing user."""
    settings = load_settings()
    plan = plan or settings.auth.signup_plan
    _check_plan(settings, plan)
    try:
        with transaction(make_session_factory(metadata_engine(settings))) as session:
            user = None
            if owner is not None:
                user = find_user(session, email=owner)
                if user is None:
                    raise ValueError("no user with that email: create one with `belvedere user create`")
            org = create_organisation(
                session,
                name=name,
                owner=user,
                plan=plan,
                trial_days=settings.auth.trial_days if trial_days is None else trial_days,
            )
            view = OrgView.of(org)
    except ValueError as exc:
        fail(str(exc))
    answer = {"organisation_id": view.id, "slug": view.slug, "plan": view.plan, "status": view.status}
    if as_json:
        typer.echo(orjson.dumps(answer).decode())
        return
    typer.echo(f"Organisation {name!r} created (id {view.id}, slug {view.slug}) on the {view.plan} plan.")
    typer.echo(
        f"  status: {view.status}" + (f", expires {view.expires_at:%Y-%m-%d}" if view.expires_at else "")
    )
    if owner is not None:
        typer.echo(f"  owner: {owner}")


@app.command("set")
def set_(
    org: Annotated[str, typer.Argument(help="Organisation id or slug")],
    plan: Annotated[str | None, typer.Option("--plan", help="New plan")] = None,
    status: Annotated[
        Status | None,
        typer.Option(
            "--status", help="New subscription status: trial, active, past_due, suspended or expired"
        ),
    ] = None,
    expires_at: Annotated[
        str | None,
        typer.Option(
            "--expires-at", help="When the subscription or trial ends (ISO 8601, UTC if no offset), or none"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Change an organisation's plan, subscription status or expiry."""
    settings = load_settings()
    if plan is None and status is None and expires_at is None:
        fail("nothing to change: pass --plan, --status or --expires-at")
    if plan is not None:
        _check_plan(settings, plan)
    expiry = _expiry(expires_at) if expires_at is not None else None
    try:
        with transaction(make_session_factory(metadata_engine(settings))) as session:
            row = find_organisation(session, org)
            changed: dict[str, str | None] = {}
            if plan is not None:
                row.plan = changed["plan"] = plan
            if status is not None:
                row.status = changed["status"] = status.value
            if expires_at is not None:
                row.expires_at = expiry
                changed["expires_at"] = expiry.isoformat() if expiry else None
            session.flush()
            securitylog.record(
                session,
                [row.id],
                "organisation_updated",
                actor=None,
                where=securitylog.Origin(),
                via="cli",
                **changed,
            )
            view = OrgView.of(row)
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        answer = {k: v for k, v in view.as_json().items() if k not in ("id", "name")}
        typer.echo(orjson.dumps({"organisation_id": view.id, **answer}).decode())
        return
    expires = f", expires {view.expires_at.isoformat()}" if view.expires_at else ""
    typer.echo(f"Organisation {view.slug} (id {view.id}): plan {view.plan}, status {view.status}{expires}.")
    if view.status not in ("suspended", "expired") and not is_live(view.status, view.expires_at):
        typer.secho(
            "  note: the expiry has passed, so the organisation stays read-only; "
            "move it with --expires-at (or `none`).",
            fg="yellow",
            err=True,
        )


@app.command("list")
def list_(json: Json = False) -> None:
    """List organisations with their plan, status and expiry."""
    settings = load_settings()
    with transaction(make_session_factory(metadata_engine(settings))) as session:
        views = [OrgView.of(o) for o in session.scalars(select(Organisation).order_by(Organisation.id))]
    records = [
        {
            "id": v.id,
            "slug": v.slug,
            "name": v.name,
            "plan": v.plan,
            "status": v.status,
            "expires": v.expires_at,
        }
        for v in views
    ]
    print_records(
        records, json=json, empty="No organisations yet: create one with `belvedere org create --name NAME`."
    )
