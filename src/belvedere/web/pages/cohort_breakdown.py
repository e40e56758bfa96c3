"""A trend broken down by saved cohorts in the builder: the project's cohorts to choose from (the first ten
when none is chosen), and the answer's lines named after their cohorts rather than their numbers."""

from __future__ import annotations

from typing import Any

from belvedere.accounts.grants import ProjectGrant
from belvedere.insights.cohorts import service as cohort_service
from belvedere.platform.db import transaction
from belvedere.query.kinds.trends import TrendsResult
from belvedere.runtime import Runtime

MAX_SHOWN = 10  # a breakdown takes at most this many cohorts


def project_cohorts(runtime: Runtime, grant: ProjectGrant) -> list[tuple[int, str]]:
    """The project's cohorts, (number, name), oldest first."""
    with transaction(runtime.sessions) as session:
        found = cohort_service.cohorts(session, project_id=grant.project.id)
        return sorted((c.id, c.name) for c in found)


def named(result: TrendsResult, names: dict[int, str]) -> TrendsResult:
    """``result`` with each line's cohort number replaced by the cohort's name (and number)."""

    def label(value: Any) -> Any:
        return f"{names[value]} (no. {value})" if isinstance(value, int) and value in names else value

    def renamed(items: list[Any] | None) -> list[Any] | None:
        if items is None:
            return None
        return [item.model_copy(update={"breakdown_value": label(item.breakdown_value)}) for item in items]

    previous = result.previous
    if previous is not None:
        previous = previous.model_copy(update={"series": renamed(previous.series)})
    return result.model_copy(
        update={"series": renamed(result.series), "formula": renamed(result.formula), "previous": previous}
    )
