"""Every module that registers jobs or schedules, imported by whatever runs a worker (the server's runtime,
`belvedere worker`), so that a worker can run every job that may be enqueued."""

from __future__ import annotations

import importlib

HANDLER_MODULES = ("belvedere.platform.jobs.upkeep",)


def load_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)
