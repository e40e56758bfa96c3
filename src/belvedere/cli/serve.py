"""`belvedere serve` and `belvedere migrate`."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from belvedere.app import BelvedereApp
from belvedere.cli.common import load_settings, metadata_engine
from belvedere.platform import heap
from belvedere.platform.migrate import current_revision
from belvedere.runtime import Runtime


def run_server(app: BelvedereApp, host: str, port: int) -> None:
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=10,
        # Client addresses from proxy headers are trusted only when BELVEDERE_INGEST__TRUST_PROXY_HEADERS
        # says so; uvicorn would otherwise believe X-Forwarded-For from any local process.
        proxy_headers=False,
    )


def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on [default: BELVEDERE_SERVER__HOST]")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on [default: BELVEDERE_SERVER__PORT]")
    ] = None,
) -> None:
    """Run the HTTP server (capture endpoint, API, health and metrics)."""
    settings = load_settings(host, port)
    typer.echo(f"Belvedere listening on {settings.base_url} (data in {settings.data_dir.resolve()})")
    app = BelvedereApp(Runtime(settings), on_started=heap.settle)
    run_server(app, settings.server.host, settings.server.port)


def migrate() -> None:
    """Bring the metadata database to the newest schema (the event store migrates itself at start)."""
    settings = load_settings()
    engine = metadata_engine(settings)
    typer.echo(f"Metadata database at revision {current_revision(engine)} ({engine.url.render_as_string()})")
