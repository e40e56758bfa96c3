"""Reading a cohort's members back from the event store (through the scoping compiler)."""

from __future__ import annotations

from sqlglot import exp

from belvedere.query.runner import QueryStore
from belvedere.query.sql import Params, col, compile_query

_SECONDS = 10.0


def sample_members(store: QueryStore, *, project_id: int, cohort_id: int, limit: int) -> list[str]:
    """The first ``limit`` members, by id."""
    params = Params()
    tree = (
        exp.select(col("person_id"))
        .from_("cohort_members")
        .where(exp.EQ(this=col("cohort_id"), expression=params.bind(cohort_id)))
        .order_by(col("person_id"))
        .limit(limit)
    )
    compiled = compile_query(
        tree, params=params, project_id=project_id, dialect=store.dialect, timeout_seconds=_SECONDS
    )
    return [str(person) for (person,) in store.fetch(compiled)]
