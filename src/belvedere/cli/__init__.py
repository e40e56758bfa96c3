"""The `belvedere` command line. Management commands touch only the metadata database, so they work while
the server runs (the server alone owns the DuckDB event store)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from belvedere import __version__
from belvedere.cli import apikey, demo, importer, mail, org, project, serve, user
from belvedere.cli.common import fail
from belvedere.platform.errors import BelvedereError


class _Commands(TyperGroup):
    """The one place a use case's refusal (``platform.errors``) becomes the command's message and exit 2."""

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context
        try:
            return super().invoke(ctx)
        except BelvedereError as exc:
            fail(exc.message)


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


app.command("serve")(serve.serve)
app.command("migrate")(serve.migrate)
app.command("demo")(demo.demo)
app.command("import")(importer.import_events)
app.add_typer(project.app, name="project")
app.add_typer(org.app, name="org")
app.add_typer(user.app, name="user")
app.add_typer(apikey.app, name="apikey")
app.add_typer(mail.app, name="mail")


def main() -> None:
    app()
