"""What a user statement reads (``Reads``), which decides the rows and columns copied to the sandbox: it
may name more than it uses, never less."""

from __future__ import annotations

import pytest

from belvedere.query.sandbox.policy import check_sql
from belvedere.query.sql import Params, compile_query


def _reads(text: str) -> tuple[tuple[str, ...], frozenset[str] | None]:
    compiled = compile_query(
        check_sql(text), params=Params(), project_id=7, dialect="duckdb", every_person=True, untrusted=True
    )
    assert compiled.reads is not None and compiled.reads.project_id == 7
    return compiled.reads.tables, compiled.reads.columns


def test_a_count_reads_no_column_and_no_alias_links() -> None:
    tables, columns = _reads("SELECT count(*) AS n FROM events")
    assert tables == ("events",)
    assert columns is not None and "person_id" not in columns and "properties" not in columns


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM events",
        "SELECT e.* FROM events e",
        "SELECT e FROM events e",  # a table as a value: a struct of all its columns
        "SELECT t FROM (SELECT event, path FROM events) t",
    ],
)
def test_a_star_or_a_table_as_a_value_reads_every_column(text: str) -> None:
    tables, columns = _reads(text)
    assert columns is None and "person_aliases" in tables


def test_naming_a_person_reads_the_alias_links() -> None:
    for name in ("person_id", "event_person_id", "event_person_key"):
        tables, columns = _reads(f"SELECT count(DISTINCT {name}) FROM events")
        assert tables == ("events", "person_aliases")
        assert columns is not None and {"person_id", "alias"} <= columns


def test_every_mentioned_name_is_read_even_through_using_and_aliases() -> None:
    tables, columns = _reads(
        "SELECT v.path AS p FROM visits v JOIN persons USING (person_id) WHERE v.entry_path = 'x'"
    )
    assert tables == ("persons", "visits")
    assert columns is not None and {"path", "person_id", "entry_path"} <= columns
