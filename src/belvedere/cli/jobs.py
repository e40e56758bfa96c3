"""`belvedere worker` runs background jobs on its own; `belvedere jobs …` lists, retries and cancels them.

A worker beside the server shares its queue through the metadata database: with SQLite, on the same
machine; with PostgreSQL (`BELVEDERE_DATABASE_URL`), anywhere. With the embedded event store, jobs that read
events (queue `store`) run only in the server, which owns the store.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import orjson
import typer

from belvedere.accounts.plans import Plans
from belvedere.cli.common import fail, load_settings, metadata_engine, print_rows
from belvedere.job_catalog import load_handlers, provide
from belvedere.platform import tracing
from belvedere.platform.db import make_session_factory
from belvedere.platform.jobs import QUEUES, STATUSES, Jobs, JobView
from belvedere.platform.jobs.upkeep import build_jobs, build_worker
from belvedere.platform.mail import Mailer

app = typer.Typer(help="See, retry and cancel background jobs.", no_args_is_help=True, add_completion=False)


def _jobs() -> Jobs:
    settings = load_settings()
    load_handlers()
    return build_jobs(settings.jobs, make_session_factory(metadata_engine(settings)))


def worker(
    queue: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Queue to take jobs from, repeatable: {', '.join(QUEUES)} [default: default, notify]"
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Jobs run at once [default: BELVEDERE_JOBS__CONCURRENCY]"),
    ] = None,
) -> None:
    """Run a background-job worker until interrupted (Ctrl-C or SIGTERM finishes the running jobs first)."""
    queues = queue or ["default", "notify"]
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        fail(f"unknown queue {', '.join(unknown)}: the queues are {', '.join(QUEUES)}")
    settings = load_settings()
    tracing.configure(settings.tracing, "worker")
    if concurrency is not None:
        settings.jobs.concurrency = concurrency
    load_handlers()
    jobs = build_jobs(settings.jobs, make_session_factory(metadata_engine(settings)))
    provide(jobs, settings, Plans(settings.plans), Mailer(settings.mail))
    running = build_worker(settings.jobs, jobs, queues)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    running.start()
    typer.echo(f"Worker {running.name} taking jobs from {', '.join(queues)}; Ctrl-C to stop.")
    stop.wait()
    typer.echo("Stopping: finishing the jobs that are running…")
    running.stop()
    jobs.waker.close()


def _print(views: list[JobView]) -> None:
    header = ("id", "name", "queue", "status", "attempts", "created", "last error")
    rows = [
        (
            str(v.id),
            v.name,
            v.queue,
            v.status,
            f"{v.attempts}/{v.max_attempts}",
            v.created_at.isoformat(timespec="seconds"),
            (v.last_error or "").splitlines()[0][:60] if v.last_error else "",
        )
        for v in views
    ]
    print_rows(header, rows)


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")] = None,
    name: Annotated[str | None, typer.Option(help="Only jobs of this name.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 50,
    json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """List jobs, newest first."""
    if status is not None and status not in STATUSES:
        fail(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
    views = _jobs().list(status=status, name=name, limit=limit)
    if json:
        typer.echo(orjson.dumps([v.as_json() for v in views], option=orjson.OPT_INDENT_2).decode())
    elif not views:
        typer.echo("No jobs" + (f" with status {status}." if status else "."))
    else:
        _print(views)


@app.command("retry")
def retry(job_id: Annotated[int, typer.Argument(help="The job's id.")]) -> None:
    """Run a dead or failed job again now."""
    view = _jobs().retry(job_id)  # a refusal (no such job, not dead) is printed by the root command
    typer.echo(f"Job {view.id} ({view.name}) is pending again.")


@app.command("cancel")
def cancel(job_id: Annotated[int, typer.Argument(help="The job's id.")]) -> None:
    """Give up a pending or failed job."""
    view = _jobs().cancel(job_id, by="the command line")
    typer.echo(f"Job {view.id} ({view.name}) is cancelled.")
