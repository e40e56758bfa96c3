"""The documentation covers what the code offers: settings, commands, rejection codes, metrics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from belvedere.ingest.validate import REJECTION_CODES
from belvedere.platform.jobs.metrics import QueueCollector
from belvedere.platform.metrics import Metrics
from belvedere.reference import BEGIN, DOCS, END

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("name", sorted(DOCS))
def test_generated_reference_is_up_to_date(name: str) -> None:
    text = (DOCS_DIR / name).read_text()
    generated = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert generated == DOCS[name]().strip(), f"run `python -m belvedere.reference docs` to refresh {name}"


def test_every_rejection_code_is_documented() -> None:
    api = (DOCS_DIR / "api.md").read_text()
    missing = [code for code in REJECTION_CODES if f"`{code}`" not in api]
    assert not missing


def test_every_metric_is_documented() -> None:
    operations = (DOCS_DIR / "operations.md").read_text()
    names = {m.name for m in Metrics().registry.collect()} | set(QueueCollector.NAMES)
    missing = sorted(n for n in names if n not in operations)
    assert not missing


def test_every_doc_is_linked_from_the_readme() -> None:
    readme = (DOCS_DIR.parent / "README.md").read_text()
    linked = set(re.findall(r"docs/([a-z_-]+\.md)", readme))
    assert {p.name for p in DOCS_DIR.glob("*.md")} <= linked


def test_every_query_kind_and_parameter_is_documented() -> None:
    from belvedere.query import REGISTRY

    queries = (DOCS_DIR / "queries.md").read_text()
    missing = [kind for kind in REGISTRY if f"### `{kind}`" not in queries]
    assert not missing, f"kinds without a section in docs/queries.md: {missing}"
    for kind, runner in REGISTRY.items():
        fields = [f for f in runner.spec_model.model_fields if f != "kind"]
        undocumented = [f for f in fields if f"`{f}`" not in queries]
        assert not undocumented, f"{kind}: parameters not in docs/queries.md: {undocumented}"


def test_setting_types_read_as_what_to_write() -> None:
    """Lists and objects are written as JSON: the table says so, and what they hold (it used to print a
    list of strings as `str`, and the plans as `str or PlanLimits`)."""
    from belvedere.config import JwtKey, PlanLimits
    from belvedere.reference import type_name

    assert type_name(list[str]) == "JSON list of str"
    assert type_name(list[JwtKey]) == "JSON list of {`kid`, `secret`}"
    assert type_name(dict[str, PlanLimits]).startswith("JSON object of {`rank`, `projects`")
    assert type_name(dict[str, PlanLimits]).endswith("} by str")
    assert type_name(int | None) == "int or none"
