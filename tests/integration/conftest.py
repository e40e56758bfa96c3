"""Fixtures of the integration tests that drive the whole app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.accounts.kit import fast_settings
from tests.integration.capture_kit import Running, running


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Running]:
    """The app on a SQLite metadata database, with one organisation and project (test modules that need
    another database or plans define their own)."""
    with running(fast_settings(tmp_path)) as r:
        yield r
