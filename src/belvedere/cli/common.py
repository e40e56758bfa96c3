"""Pieces every command shares: settings, logging and the metadata database."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from sqlalchemy.engine import Engine

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
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.metadata_url)
    migrate.upgrade(engine)
    return engine
