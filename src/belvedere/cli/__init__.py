"""The `belvedere` command line. Management commands touch only the metadata database, so they work while
the server runs (the server alone owns the DuckDB event store).

Each command's module is imported only when that command runs: the server, the query engine and the
database drivers take seconds to import, and `belvedere --help` (or a typo) should answer at once. The
table below names each command's module and its one-line help, which a test keeps equal to the command's
own."""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from typer._click.core import Command, Context
from typer.core import TyperCommand, TyperGroup

from belvedere import __version__
from belvedere.platform.errors import BelvedereError

# name → (module in belvedere.cli, its command function or Typer sub-app, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "serve": ("serve", "serve", "Run the HTTP server (capture endpoint, API, health and metrics)."),
    "migrate": (
        "serve",
        "migrate",
        "Bring the metadata database to the newest schema (the event store migrates itself at start).",
    ),
    "demo": (
        "demo",
        "demo",
        "Create a demo organisation with two projects, generate realistic history, serve, print the keys.",
    ),
    "import": (
        "importer",
        "import_events",
        "Import events from an NDJSON file into a project, through the running server.",
    ),
    "project": ("project", "app", "Manage projects."),
    "org": ("org", "app", "Manage organisations."),
    "user": ("user", "app", "Manage users."),
    "apikey": ("apikey", "app", "Manage personal API keys."),
    "mail": ("mail", "app", "Read the emails Belvedere wrote (the outbox)."),
    "worker": (
        "jobs",
        "worker",
        "Run a background-job worker until interrupted (Ctrl-C or SIGTERM finishes the running jobs first).",
    ),
    "jobs": ("jobs", "app", "See, retry and cancel background jobs."),
    "migrate-metadata": (
        "metadata",
        "migrate_metadata",
        "Copy the metadata database into another one, e.g. PostgreSQL (stop the server first); resumable.",
    ),
    "migrate-store": (
        "store",
        "migrate_store",
        "Copy the DuckDB event store into ClickHouse (stop the server first); resumable, then verified.",
    ),
}


def load(name: str) -> Command:
    """The command ``name`` as Typer builds it, its module imported now."""
    module, attribute, _ = COMMANDS[name]
    target = getattr(importlib.import_module(f"belvedere.cli.{module}"), attribute)
    if isinstance(target, typer.Typer):  # a group, even of one command (`belvedere mail outbox`)
        command: Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class _Deferred(TyperCommand):
    """A command listed by name and help, loaded when it is run (or its own help is asked for)."""

    def __init__(self, name: str) -> None:
        super().__init__(name, help=COMMANDS[name][2], short_help=COMMANDS[name][2])

    def make_context(
        self, info_name: str | None, args: list[str], parent: Context | None = None, **extra: Any
    ) -> Context:
        return load(self.name or "").make_context(info_name, args, parent=parent, **extra)


class _Commands(TyperGroup):
    """The root group: commands loaded on use, and the one place a use case's refusal
    (``platform.errors``) becomes the command's message and exit 2."""

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        return _Deferred(cmd_name) if cmd_name in COMMANDS else None

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context
        try:
            return super().invoke(ctx)
        except BelvedereError as exc:
            typer.secho(exc.message, fg="red", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_Commands,
    name="belvedere",
    help="Belvedere: self-hostable product & web analytics.",
    no_args_is_help=True,
    add_completion=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"belvedere {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Belvedere: self-hostable product & web analytics."""


def main() -> None:
    app()
