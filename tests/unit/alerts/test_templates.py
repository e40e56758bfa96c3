"""Every rule template builds a valid rule from its defaults (the page offers each with them filled in)."""

from __future__ import annotations

import pytest

from belvedere.alerts.rules import Anomaly
from belvedere.alerts.templates import TEMPLATES


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.id for t in TEMPLATES])
def test_each_template_builds_a_valid_rule_from_its_defaults(template: object) -> None:
    draft = template.build({}, [])  # type: ignore[attr-defined]
    assert draft.name and "{" not in draft.name


def test_the_unusual_traffic_template_watches_for_anomalies() -> None:
    (unusual,) = [t for t in TEMPLATES if t.id == "unusual_traffic"]
    draft = unusual.build({"event": "signup"}, [3])
    assert draft.name == "Unusual signup traffic" and draft.interval == "hour"
    assert draft.condition == Anomaly(sensitivity="medium", direction="both")
    assert draft.channels == [3]
