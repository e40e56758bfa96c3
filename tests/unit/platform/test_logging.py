"""Logged errors: a traceback is plain text — never the values of the failing code's local variables
(a password or an API key in a local would go to the log), and quick to write, since the app configures
logging itself, however it is started."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from belvedere.app import create_app
from belvedere.config import Settings
from belvedere.platform.logging import configure_logging


def _fail_with_a_secret_in_a_local() -> None:
    password = "hunter2-is-my-password"  # noqa: F841 - what a traceback with locals would show
    raise ValueError("the login failed")


def _log_a_failure() -> None:
    try:
        _fail_with_a_secret_in_a_local()
    except ValueError:
        structlog.get_logger("test").exception("request.failed")


@pytest.mark.parametrize("json", [False, True])
def test_a_logged_traceback_shows_no_local_values(capsys: pytest.CaptureFixture[str], json: bool) -> None:
    configure_logging("info", json=json, cache=False)
    try:
        _log_a_failure()
    finally:
        configure_logging("info", cache=False)  # as tests/conftest.py left it
    written = capsys.readouterr().out
    assert "request.failed" in written and "the login failed" in written
    assert "_fail_with_a_secret_in_a_local" in written  # the traceback is there...
    assert "hunter2" not in written  # ...without the locals


def test_the_app_configures_logging_when_made_by_its_factory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``create_app`` (e.g. ``uvicorn --factory belvedere.app:create_app``) does not leave structlog's
    defaults, whose console tracebacks print every local variable."""
    structlog.reset_defaults()
    try:
        create_app(Settings(data_dir=tmp_path, log_json=True))  # type: ignore[arg-type]
        _log_a_failure()
    finally:
        configure_logging("info", cache=False)  # as tests/conftest.py left it
    written = capsys.readouterr().out
    assert '"event": "request.failed"' in written and "hunter2" not in written
