"""Pieces every command shares: settings, logging and the metadata database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from belvedere.accounts.models import Organisation
from belvedere.config import Settings
from belvedere.platform import migrate
from belvedere.platform.db import make_engine
from belvedere.platform.logging import configure_logging


def load_settings(host: str | None = None, port: int | None = None) -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        typer.secho(f"Invalid configuration:\n{exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    if host is not None:
        settings.server.host = host
    if port is not None:
        settings.server.port = port
    configure_logging(settings.log_level, json=settings.log_json)
    return settings


def metadata_engine(settings: Settings) -> Engine:
    warn_if_new(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.metadata_url)
    migrate.upgrade(engine)
    return engine


def warn_if_new(settings: Settings) -> None:
    """Say so when a command is about to create the data directory: a typo in the path, or a command run
    from another folder than the server's, would otherwise quietly answer from a new, empty install."""
    if not settings.data_dir.exists():
        typer.secho(
            f"Creating a new, empty data directory at {settings.data_dir.resolve()}; to use an existing"
            " install, set BELVEDERE_DATA_DIR to its folder (or run the command from the folder it runs in).",
            fg="yellow",
            err=True,
        )


def progress_bar(label: str) -> Progress:
    """The bar long commands show: what they do, how far (done of total) and the time left."""
    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())


def fail(message: str) -> NoReturn:
    """Say what is wrong, in red on stderr, and exit 2 (invalid arguments)."""
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(2)


def find_organisation(session: Session, ref: str) -> Organisation:
    """The organisation with this id or slug; ValueError when there is none."""
    org = session.get(Organisation, int(ref)) if ref.isdigit() else None
    org = org or session.scalar(select(Organisation).where(Organisation.slug == ref.strip().lower()))
    if org is None:
        raise ValueError(f"no organisation with id or slug {ref!r}: see `belvedere org list`")
    return org


# ``--json`` on list commands: the same rows as one JSON document, for scripts.
Json = Annotated[
    bool, typer.Option("--json", help="Print one JSON document (a list of objects), for scripts.")
]


def print_records(records: Sequence[dict[str, Any]], *, json: bool, empty: str) -> None:
    """Records (one dict each, the same keys) as a table — ``empty`` when there is none — or with
    ``json``, as a JSON list of objects (an empty list when there is none)."""
    if json:
        typer.echo(orjson.dumps(list(records), option=orjson.OPT_INDENT_2, default=str).decode())
    elif not records:
        typer.echo(empty)
    else:
        header = tuple(key.replace("_", " ") for key in records[0])
        print_rows(header, [tuple("—" if v is None else str(v) for v in r.values()) for r in records])


def print_rows(header: tuple[str, ...], values: Sequence[tuple[str, ...]]) -> None:
    """A table on a terminal; tab-separated lines when piped (nothing cut to fit a width)."""
    console = Console()
    if not console.is_terminal:
        for line in (header, *values):
            typer.echo("\t".join(line))
        return
    table = Table(*header)
    for value in values:
        table.add_row(*value)
    console.print(table)
