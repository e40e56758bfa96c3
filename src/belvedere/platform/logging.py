"""Structured logging with structlog: human-readable in a terminal, JSON lines when asked.

Tracebacks are plain text in both: structlog's default console renderer prints every frame's local
variables, where a password or a key may be (and takes seconds for a large app's frames)."""

from __future__ import annotations

import logging

import structlog

from belvedere.platform.tracing import add_trace_ids


def configure_logging(level: str = "info", *, json: bool = False, cache: bool = True) -> None:
    """``cache``: each logger binds its configuration on first use (fast; tests that capture logs turn it
    off, since a cached logger would not see their capture)."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(level=numeric, format="%(message)s")
    # Quiet below warnings: migrations' chatter, and httpx's line per request (the capture workers forward
    # every request they do not serve to the owner: one more log line each, with its query string).
    for noisy in ("alembic", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_ids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=cache,
    )
