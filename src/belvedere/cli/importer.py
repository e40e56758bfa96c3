"""`belvedere import FILE`: send an NDJSON file of events (capture format) through the running server's
ingest path, so imported events are validated, enriched and stored exactly like live ones."""

from __future__ import annotations

import gzip
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import orjson
import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from belvedere.cli.common import load_settings


@dataclass
class ImportTally:
    accepted: int = 0
    dropped: int = 0
    rejected: int = 0
    examples: list[str] = field(default_factory=list)

    def reject(self, where: str, message: str) -> None:
        self.rejected += 1
        if len(self.examples) < 10:
            self.examples.append(f"{where}: {message}")


def _send(
    client: httpx.Client, url: str, key: str, batch: list[Any], lines: list[int], tally: ImportTally
) -> None:
    body = gzip.compress(orjson.dumps({"batch": batch}), compresslevel=1)
    headers = {
        "authorization": f"Bearer {key}",
        "content-encoding": "gzip",
        "content-type": "application/json",
    }
    for _ in range(60):
        response = client.post(url, content=body, headers=headers)
        if response.status_code != 503:
            break
        time.sleep(float(response.headers.get("retry-after", "1")))
    if response.status_code != 202:
        detail = response.json().get("error", {}) if response.content else {}
        raise typer.BadParameter(
            f"server answered {response.status_code}: {detail.get('message', response.text)}"
        )
    answer = response.json()
    tally.accepted += answer["accepted"]
    tally.dropped += answer.get("dropped", 0)
    for item in answer["rejected"]:
        tally.reject(f"line {lines[item['index']]}", f"{item['error']['code']}: {item['error']['message']}")


def import_events(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="NDJSON, one event per line")],
    write_key: Annotated[
        str, typer.Option("--write-key", envvar="BELVEDERE_WRITE_KEY", help="Project write key")
    ],
    url: Annotated[str | None, typer.Option(help="Server URL [default: the configured server]")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="Events per request")] = 1000,
) -> None:
    """Import events from an NDJSON file into a project, through the running server."""
    settings = load_settings()
    endpoint = (url or settings.base_url).rstrip("/") + "/api/v1/capture"
    tally = ImportTally()
    batch: list[Any] = []
    lines: list[int] = []
    columns = (TextColumn("[bold]importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    try:
        with httpx.Client(timeout=60) as client, Progress(*columns) as progress, file.open("rb") as handle:
            task = progress.add_task("import", total=file.stat().st_size)
            for number, raw in enumerate(handle, start=1):
                progress.advance(task, len(raw))
                if not raw.strip():
                    continue
                try:
                    batch.append(orjson.loads(raw))
                except orjson.JSONDecodeError as exc:
                    tally.reject(f"line {number}", f"malformed_json: {exc}")
                    continue
                lines.append(number)
                if len(batch) >= batch_size:
                    _send(client, endpoint, write_key, batch, lines, tally)
                    batch, lines = [], []
            if batch:
                _send(client, endpoint, write_key, batch, lines, tally)
    except httpx.ConnectError:
        typer.secho(
            f"No Belvedere server answers at {endpoint}: start it with `belvedere serve`.", fg="red", err=True
        )
        raise typer.Exit(1) from None
    typer.echo(
        f"accepted {tally.accepted}, dropped {tally.dropped} (bots, or filtered by the project's settings), "
        f"rejected {tally.rejected}"
    )
    for example in tally.examples:
        typer.echo(f"  {example}")
    if tally.rejected:
        raise typer.Exit(1)
