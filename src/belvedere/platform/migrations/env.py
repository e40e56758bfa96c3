"""Alembic environment: runs against the connection handed over by belvedere.platform.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

import belvedere.platform.migrations.env_models  # noqa: F401
from belvedere.platform.db import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(config.get_section(config.config_ini_section) or {}, poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
