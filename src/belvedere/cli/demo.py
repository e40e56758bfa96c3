"""`belvedere demo`: a demo organisation with two projects and months of realistic history, then serve."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated

import typer

from belvedere.accounts import projects
from belvedere.accounts.models import Membership
from belvedere.accounts.organisations import create_organisation, create_user, find_user, membership
from belvedere.accounts.service import ProjectInfo, find_project, issue_api_key
from belvedere.app import BelvedereApp
from belvedere.cli.common import load_settings, progress_bar
from belvedere.cli.serve import run_server
from belvedere.demo.generator import generate
from belvedere.platform import heap
from belvedere.platform.db import transaction
from belvedere.runtime import Runtime
from belvedere.store.base import StoreInUse

DEMO_ORG = "Demo"
DEMO_EMAIL = "demo@belvedere.local"
DEMO_PROJECTS = {"propmanager": ("PropManager", "Europe/Paris"), "aichat": ("AI Chat", "Europe/Paris")}


def _demo_projects(runtime: Runtime) -> dict[str, tuple[ProjectInfo, str, str]]:
    """(project, write key, fresh read key) per demo product, creating the projects on first run."""
    found: dict[str, tuple[ProjectInfo, str, str]] = {}
    with transaction(runtime.sessions) as session:
        for product, (name, timezone) in DEMO_PROJECTS.items():
            existing = find_project(session, organisation=DEMO_ORG, name=name)
            if existing is None:
                created, _ = projects.create_for_operator(
                    session, organisation=DEMO_ORG, name=name, plans=runtime.plans, timezone=timezone
                )
                found[product] = (created.project, created.write_key, created.api_key)
            else:
                project, write_key = existing
                found[product] = (
                    project,
                    write_key,
                    issue_api_key(session, project_id=project.id, label="demo"),
                )
    return found


def demo_login(runtime: Runtime) -> str:
    """The demo owner's account, with a fresh random password printed for this run (never a fixed one)."""
    password = "demo-" + secrets.token_urlsafe(12)
    hashed = runtime.auth.passwords.hash(password)
    with transaction(runtime.sessions) as session:
        org = projects.organisation_named(session, DEMO_ORG) or create_organisation(
            session, name=DEMO_ORG, owner=None, plan="unlimited"
        )
        user = find_user(session, email=DEMO_EMAIL)
        if user is None:
            user = create_user(session, email=DEMO_EMAIL, password_hash=hashed, name="Demo owner")
            user.email_verified_at = datetime.now(UTC)
        else:
            user.password_hash = hashed
            user.token_version += 1
        if membership(session, organisation_id=org.id, user_id=user.id) is None:
            session.add(Membership(organisation_id=org.id, user_id=user.id, role="owner"))
    return password


def load_history(
    runtime: Runtime, projects: dict[str, ProjectInfo], *, events: int, seed: int
) -> tuple[int, Counter[str]]:
    """Feed generated history through the real ingest pipeline, then wait until it is all stored; the
    events kept, and why the others were not (the generator sends bot traffic, which the pipeline drops)."""
    pending: dict[str, list[object]] = {product: [] for product in projects}
    accepted = 0
    dropped: Counter[str] = Counter()

    def send(product: str, batch: list[object]) -> int:
        result = runtime.ingest.capture_sync(projects[product], batch)
        dropped.update(result.dropped_because)
        dropped["refused as invalid"] += len(result.rejected)
        return result.accepted

    with progress_bar("generating history") as progress:
        task = progress.add_task("history", total=events)
        for item in generate(seed=seed, events=events, incidents=True):
            batch = pending[item.product]
            batch.append(item.payload)
            if len(batch) >= 1000:
                accepted += send(item.product, batch)
                progress.advance(task, len(batch))
                pending[item.product] = []
        for product, batch in pending.items():
            if batch:
                accepted += send(product, batch)
                progress.advance(task, len(batch))
        progress.update(task, completed=events)
    while runtime.spool.depth_bytes:
        time.sleep(0.05)
    return accepted, +dropped


WHY = {"bot": "bot traffic, which Belvedere does not count"}


def stored_count(accepted: int, generated: int, dropped: Counter[str]) -> str:
    """What the demo stored, and why the rest was not: "Stored 198,167 of 200,000 generated events; 1,833
    were bot traffic, which Belvedere does not count." """
    text = f"Stored {accepted:,} of {generated:,} generated events"
    reasons = [
        f"{count:,} {'was' if count == 1 else 'were'} {WHY.get(why, why)}"
        for why, count in dropped.most_common()
    ]
    return text + ("; " + ", ".join(reasons) if reasons else "") + "."


def demo(
    events: Annotated[int, typer.Option(min=0, help="Events of history to generate on first run")] = 200_000,
    seed: Annotated[int, typer.Option(help="Seed of the history generator")] = 42,
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    serve: Annotated[bool, typer.Option(help="Serve after loading (--no-serve just loads)")] = True,
) -> None:
    """Create a demo organisation with two projects, generate realistic history, serve, print the keys."""
    settings = load_settings(host, port)
    runtime = Runtime(settings)
    try:
        runtime.start()
    except StoreInUse as exc:
        typer.secho(exc.message, fg="red", err=True)
        raise typer.Exit(1) from None
    try:
        found = _demo_projects(runtime)
        projects = {product: info for product, (info, _, _) in found.items()}
        stored = sum(runtime.store.count_events(project_id=p.id) for p in projects.values())
        if stored == 0 and events > 0:
            accepted, dropped = load_history(runtime, projects, events=events, seed=seed)
            # The generator finishes the visits it has begun: a few more events than asked, all counted.
            typer.echo(stored_count(accepted, accepted + sum(dropped.values()), dropped))
        else:
            typer.echo(f"Demo history already present ({stored} events); generation skipped.")
        password = demo_login(runtime)
        typer.echo(f"\nBelvedere demo at {settings.base_url}  (API docs: {settings.base_url}/docs)")
        typer.echo(f"  log in as {DEMO_EMAIL} with password {password}  (new each run)")
        for project, write_key, api_key in found.values():
            typer.echo(f"  {project.name} (project {project.id}): write key {write_key}  read key {api_key}")
        typer.echo(
            f"  try: curl -H 'Authorization: Bearer {found['propmanager'][2]}' "
            f"{settings.base_url}/api/v1/projects/{projects['propmanager'].id}/events?limit=3"
        )
        if serve:
            app = BelvedereApp(runtime, manage_runtime=False, on_started=heap.settle)
            run_server(app, settings.server.host, settings.server.port)
    finally:
        runtime.stop()
