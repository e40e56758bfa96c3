"""The property suite (test_properties_*: every kind against a plain-Python reference, hundreds of random
event sets each) is marked `properties`, so `pytest -m properties` runs it alone."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name.startswith("test_properties_"):
            item.add_marker(pytest.mark.properties)
