"""`belvedere migrate-metadata`: copy the metadata database into another (see ``platform.copy_metadata``)."""

from __future__ import annotations

from typing import Annotated

import typer

from belvedere.cli.common import fail, load_settings, progress_bar
from belvedere.platform import copy_metadata
from belvedere.platform.db import make_engine


def migrate_metadata(
    to: Annotated[
        str,
        typer.Option(
            help="The database to copy into, as a SQLAlchemy URL "
            "(`postgresql+psycopg://user:password@host/belvedere`); it must be empty or an interrupted copy."
        ),
    ],
) -> None:
    """Copy the metadata database into another one, e.g. PostgreSQL (stop the server first); resumable."""
    settings = load_settings()
    source, target = make_engine(settings.metadata_url), make_engine(to)
    shown = target.url.render_as_string(hide_password=True)
    try:
        counts = copy_metadata.plan(source, target)
        done = [c for c in counts if c.source and c.target == c.source]
        if done:
            typer.echo(f"Resuming: {len(done)} of {len(counts)} tables copied already.")
        with progress_bar("copying metadata") as bar:
            task = bar.add_task("rows", total=sum(c.source for c in counts))
            mismatches = copy_metadata.copy(source, target, on_rows=lambda n: bar.advance(task, n))
    except copy_metadata.CopyRefused as exc:
        fail(f"Not copied: {exc}.")
    finally:
        source.dispose()
        target.dispose()
    if mismatches:
        for m in mismatches:
            typer.secho(f"{m.name}: {m.source} rows in the source, {m.target} in {shown}", fg="red", err=True)
        fail("The copy differs from the source: was the server still running? Stop it and copy again.")
    total = sum(c.source for c in counts)
    typer.echo(
        f"Copied and verified {total:,} rows ({len(counts)} tables) into {shown}.\n"
        f"To use it: BELVEDERE_DATABASE_URL='{to}' belvedere serve"
    )
