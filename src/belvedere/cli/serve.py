"""`belvedere serve` and `belvedere migrate`."""

from __future__ import annotations

import hashlib
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from belvedere.app import BelvedereApp
from belvedere.cli.common import load_settings, metadata_engine
from belvedere.config import Settings
from belvedere.ingest.worker import CaptureWorker
from belvedere.platform import heap, tracing
from belvedere.platform.migrate import current_revision
from belvedere.runtime import Runtime
from belvedere.web.capture_server import CaptureServer
from belvedere.web.warm import warm
from belvedere.web.workers import WorkerPool, server_options


class Role(StrEnum):
    all = "all"
    capture = "capture"


def run_server(app: BelvedereApp, host: str, port: int, uds: str | None = None) -> None:
    uvicorn.run(app, host=host, port=port, uds=uds, **server_options(app.runtime.settings.server))


def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on [default: BELVEDERE_SERVER__HOST]")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on [default: BELVEDERE_SERVER__PORT]")
    ] = None,
    capture_workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=64,
            help="Capture worker processes; 0 serves everything in one process "
            "[default: BELVEDERE_SERVER__CAPTURE_WORKERS]",
        ),
    ] = None,
    role: Annotated[
        Role,
        typer.Option(
            help="all: everything (owns the event store); capture: only the capture endpoint, appending to "
            "the shared ingest stream (BELVEDERE_INGEST__STREAM_URL) that the store owner relays"
        ),
    ] = Role.all,
) -> None:
    """Run the HTTP server (capture endpoint, API, health and metrics)."""
    settings = load_settings(host, port)
    tracing.configure(settings.tracing, "capture" if role is Role.capture else "server")
    if role is Role.capture:
        serve_capture(settings)
        return
    if capture_workers is not None:
        settings.server.capture_workers = capture_workers
    typer.echo(f"Belvedere listening on {settings.base_url} (data in {settings.data_dir.resolve()})")
    warning = settings.exposure_warning()
    if warning:
        typer.secho(f"WARNING: {warning}", fg=typer.colors.RED, bold=True, err=True)
    runtime = Runtime(settings)

    def ready() -> None:
        # Before the first request: the pages' templates and the overview's statements compiled, then the
        # heap as it now stays frozen (``platform.heap``).
        warm(runtime)
        heap.settle()

    if not settings.server.capture_workers:
        app = BelvedereApp(runtime, on_started=ready)
        run_server(app, settings.server.host, settings.server.port)
        return
    owner_socket = owner_socket_path(settings)
    owner_socket.unlink(missing_ok=True)  # left by a server that was killed
    pool = WorkerPool(settings, owner_socket)

    def started() -> None:
        ready()
        pool.start()

    app = BelvedereApp(runtime, on_started=started, on_stopping=pool.stop)
    typer.echo(f"{settings.server.capture_workers} capture workers; store owner on {owner_socket}")
    run_server(app, settings.server.host, settings.server.port, uds=str(owner_socket))


def serve_capture(settings: Settings) -> None:
    """A capture process of the scale-out mode (``web.capture_server``)."""
    if settings.ingest.stream_url is None:
        raise typer.BadParameter(
            "--role capture appends to the shared ingest stream: set BELVEDERE_INGEST__STREAM_URL "
            "(redis://host:6379/0), the same as the server that owns the event store",
            param_hint="--role",
        )
    stream = settings.ingest.stream_key
    typer.echo(f"Belvedere capture process listening on {settings.base_url} (stream {stream})")
    if settings.rate_limit.storage_url.startswith("memory://"):
        typer.secho(
            "WARNING: rate limits are counted in this process only; with several capture processes set "
            "BELVEDERE_RATE_LIMIT__STORAGE_URL to a Redis they share (redis://host:6379/1).",
            fg=typer.colors.YELLOW,
            err=True,
        )
    app = CaptureServer(CaptureWorker(settings, None))
    uvicorn.run(app, host=settings.server.host, port=settings.server.port, **server_options(settings.server))


def owner_socket_path(settings: Settings) -> Path:
    """The owner's Unix socket, in the data folder unless that path is too long for a socket address."""
    path = settings.data_dir.resolve() / "owner.sock"
    if len(str(path)) < 100:
        return path
    digest = hashlib.blake2b(str(path).encode(), digest_size=6).hexdigest()
    return Path(tempfile.gettempdir()) / f"belvedere-{digest}.sock"


def migrate() -> None:
    """Bring the metadata database to the newest schema (the event store migrates itself at start)."""
    settings = load_settings()
    engine = metadata_engine(settings)
    typer.echo(f"Metadata database at revision {current_revision(engine)} ({engine.url.render_as_string()})")
