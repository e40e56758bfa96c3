"""``sql``: a read-only SELECT of the user's own over ``events`` (and ``persons``) of this project only.

The text is parsed with sqlglot and refused unless it is one SELECT (or UNION of SELECTs). It never runs as
written: the tree goes through the same compiler as every insight, which replaces each ``events`` or
``persons`` with a subquery of this project's rows and refuses any other table, schema-qualified name or
table function (``read_csv``, ``file``, ``url``…). Functions that read the server's environment or files
are refused by name. The result is capped in rows and the query in time.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import sqlglot
from pydantic import Field, field_validator
from sqlglot import exp
from sqlglot.errors import ParseError

from belvedere.query.runner import QueryError, QueryRunner, QuerySpec, register
from belvedere.query.sql import Params, QueryBuildError, compile_query

# Functions that could reach beyond the project's rows: files, settings, the environment, other databases.
_REFUSED = re.compile(
    r"^(read_|scan_|parquet_|sniff_|glob$|getenv$|current_setting$|file$|url$|s3$|hdfs$|remote|cluster|"
    r"mysql|postgres|sqlite|iceberg|delta|query$|query_table$|duckdb_|pragma_|dictget|joinget|"
    r"getsetting$|system|input$|executable$|load|install)",
    re.IGNORECASE,
)
MAX_ROWS = 10_000


class SqlRefused(ValueError):
    pass


def check_sql(text: str) -> exp.Query:
    """The query's tree, or ``SqlRefused`` saying why it cannot run."""
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except ParseError as exc:
        raise SqlRefused(f"not valid SQL: {exc.errors[0]['description'] if exc.errors else exc}") from None
    if len(statements) != 1:
        raise SqlRefused("send exactly one SELECT statement")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise SqlRefused("only SELECT queries are allowed")
    for node in tree.walk():
        if isinstance(node, exp.Into | exp.Command | exp.Pragma | exp.Set):
            raise SqlRefused("only SELECT queries are allowed")
        if isinstance(node, exp.Func):
            name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
            if _REFUSED.match(name or ""):
                raise SqlRefused(f"function {name!r} is not allowed")
    return tree


class SqlQuery(QuerySpec):
    kind: Literal["sql"] = "sql"
    query: str = Field(min_length=1, max_length=20_000, description="One SELECT over `events`.")
    limit: int = Field(1000, ge=1, le=MAX_ROWS, description="Most rows returned.")
    timeout_seconds: float = Field(10.0, gt=0, le=60)

    _check_query = field_validator("query")(classmethod(lambda cls, v: _checked(v)))


def _checked(text: str) -> str:
    check_sql(text)
    return text


@register
class SqlRunner(QueryRunner[SqlQuery]):
    kind = "sql"
    spec_model = SqlQuery

    def calculate(self) -> dict[str, Any]:
        tree = check_sql(self.spec.query)
        capped = exp.select("*").from_(tree.subquery("q")).limit(self.spec.limit + 1)
        try:
            compiled = compile_query(
                capped,
                params=Params(),
                project_id=self.ctx.project_id,
                dialect=self.ctx.store.dialect,
                timeout_seconds=self.spec.timeout_seconds,
                every_person=True,
            )
        except QueryBuildError as exc:
            raise QueryError(str(exc)) from None
        started = time.perf_counter()
        try:
            columns, rows = self.ctx.store.fetch_table(compiled)
        except Exception as exc:  # the engine's own message is the useful one: unknown column, timeout…
            elapsed = time.perf_counter() - started
            if elapsed >= self.spec.timeout_seconds:
                raise QueryError(f"the query ran longer than {self.spec.timeout_seconds:g} s") from None
            raise QueryError(f"the query failed: {str(exc).splitlines()[0]}") from None
        finally:
            self.ctx.sql_ms += (time.perf_counter() - started) * 1000
        truncated = len(rows) > self.spec.limit
        return {
            "kind": "sql",
            "columns": columns,
            "rows": [[_jsonable(v) for v in row] for row in rows[: self.spec.limit]],
            "truncated": truncated,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value
