"""The `belvedere` command line. Management commands touch only the metadata database, so they work while
the server runs (the server alone owns the DuckDB event store)."""

from __future__ import annotations

import typer

from belvedere.cli import apikey, demo, importer, mail, org, project, serve, user

app = typer.Typer(
    name="belvedere",
    help="Belvedere: self-hostable product & web analytics.",
    no_args_is_help=True,
    add_completion=False,
)
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
