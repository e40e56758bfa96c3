"""``compile_shaped`` builds and prints a statement once per shape; each call brings its own values and
project, and names that the compiler itself uses cannot be taken by a slot."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlglot import exp

from belvedere.query.compiled import compile_shaped
from belvedere.query.sql import Params, QueryBuildError, col


def test_built_once_per_shape_and_dialect_with_each_calls_values() -> None:
    built: list[str] = []

    def build(params: Params) -> exp.Expr:
        built.append("x")
        since = exp.GTE(this=col("timestamp"), expression=params.slot("s_since"))
        named = exp.EQ(this=col("event"), expression=params.bind("signup"))
        return exp.select("count(uuid)").from_("events").where(exp.and_(since, named))

    shape = ("test", "signups since")
    first = compile_shaped(shape, build, {"s_since": datetime(2025, 1, 1)}, project_id=1, dialect="duckdb")
    second = compile_shaped(shape, build, {"s_since": datetime(2025, 2, 1)}, project_id=7, dialect="duckdb")
    assert built == ["x"] and first.sql == second.sql
    assert first.params == {"s_since": datetime(2025, 1, 1), "p1": "signup", "project": 1}
    assert second.params == {"s_since": datetime(2025, 2, 1), "p1": "signup", "project": 7}
    assert "project_id = $project" in second.sql
    ch = compile_shaped(shape, build, {"s_since": datetime(2025, 2, 1)}, project_id=7, dialect="clickhouse")
    assert built == ["x", "x"] and "{s_since: DateTime64(3)}" in ch.sql


@pytest.mark.parametrize("name", ["project", "p0", "p12"])
def test_slot_names_of_the_compiler_are_refused(name: str) -> None:
    with pytest.raises(QueryBuildError):
        compile_shaped(
            ("test", name),
            lambda params: exp.select("1").from_("events"),
            {name: 1},
            project_id=1,
            dialect="duckdb",
        )


def test_a_slot_that_was_not_given_is_refused() -> None:
    with pytest.raises(QueryBuildError):
        Params().slot("s_missing")
