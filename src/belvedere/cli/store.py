"""`belvedere migrate-store`: copy the embedded DuckDB event store into ClickHouse (see ``store.copy``)."""

from __future__ import annotations

from typing import Annotated, Literal

import duckdb
import typer

from belvedere.cli.common import fail, load_settings, progress_bar
from belvedere.store import copy
from belvedere.store.clickhouse import ClickHouseEventStore


def migrate_store(
    to: Annotated[Literal["clickhouse"], typer.Option(help="The engine to copy the events into.")],
    url: Annotated[
        str | None,
        typer.Option(
            help="The ClickHouse server (`http://user:password@host:8123/database`) or `chdb:///directory`. "
            "Default: `BELVEDERE_STORE__CLICKHOUSE_URL`, else embedded in `<data_dir>/events.clickhouse`."
        ),
    ] = None,
    batch_rows: Annotated[int, typer.Option(min=1000, help="Events written to ClickHouse at once.")] = 50_000,
) -> None:
    """Copy the DuckDB event store into ClickHouse (stop the server first); resumable, then verified."""
    settings = load_settings()
    source_path = settings.event_store_path
    if not source_path.exists():
        fail(f"No DuckDB event store at {source_path}: nothing to copy (is BELVEDERE_DATA_DIR right?).")
    try:
        source = copy.Source.open(source_path)
    except duckdb.IOException:
        fail(f"{source_path} is in use: stop `belvedere serve` (and any worker) first, then run this again.")
    target = ClickHouseEventStore(
        settings.data_dir / "events.clickhouse", url=url or settings.store.clickhouse_url
    )
    target.open()
    progress = copy.Progress(settings.data_dir / f"migrate-store-{to}.json")
    try:
        days = source.days()
        left = [d for d in days if d.key not in progress.done]
        if progress.done:
            typer.echo(f"Resuming: {len(days) - len(left)} of {len(days)} project-days copied already.")
        with progress_bar("copying events") as bar:
            task = bar.add_task("events", total=sum(d.events for d in left))
            copy.copy_days(
                source, target, progress, batch_rows=batch_rows, on_day=lambda d: bar.advance(task, d.events)
            )
        mismatches = copy.compare(source, target)
    finally:
        source.close()
        target.close()
    if mismatches:
        for m in mismatches[:20]:
            typer.secho(
                f"project {m.project_id}, {m.day}: {m.source} events in DuckDB, {m.target} in ClickHouse",
                fg="red",
                err=True,
            )
        fail(
            f"{len(mismatches)} project-days differ. If ClickHouse held events before this copy, empty it and"
            f" delete {progress.path} to copy again."
        )
    total = sum(d.events for d in days)
    typer.echo(
        f"Copied and verified {total:,} events ({len(days)} project-days) into {target.location}."
        "\nTo serve from it: BELVEDERE_STORE__KIND=clickhouse"
        + (f" BELVEDERE_STORE__CLICKHOUSE_URL='{url}'" if url else "")
        + " belvedere serve"
    )
