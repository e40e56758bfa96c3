"""The `belvedere` command line. Management commands touch only the metadata database, so they work while
the server runs (the server alone owns the DuckDB event store)."""

from __future__ import annotations

import typer

from belvedere.cli import demo, importer, project, serve

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


def main() -> None:
    app()
