"""``sql``: a read-only SELECT of the user's own over this project's views, and nothing else.

The text is checked by the sandbox's allowlists (``query.sandbox.policy``): one query, reviewed functions
only, and only the project's views or WITH queries in scope as relations. It never runs as written: the
tree goes through the same compiler as every insight, which replaces each view with a subquery of this
project's rows. Underneath, the engine itself cannot reach files, extensions or settings (docs/security.md).
The result is capped in rows and bytes, the query in time.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import orjson
from pydantic import Field, field_validator
from sqlglot import exp

from belvedere.query.runner import QueryError, QueryResult, QueryRunner, QuerySpec, register
from belvedere.query.sandbox.policy import check_sql
from belvedere.query.sql import Params, QueryBuildError, compile_query
from belvedere.store.base import QueryTimedOut, QueryTooCostly
from belvedere.store.sandbox import MAX_ANSWER_BYTES
from belvedere.store.sandbox.values import jsonable

MAX_ROWS = 10_000


class SqlQuery(QuerySpec):
    kind: Literal["sql"] = "sql"
    query: str = Field(min_length=1, max_length=20_000, description="One SELECT over `events`.")
    limit: int = Field(1000, ge=1, le=MAX_ROWS, description="Most rows returned.")
    timeout_seconds: float = Field(10.0, gt=0, le=60)

    _check_query = field_validator("query")(classmethod(lambda cls, v: _checked(v)))

    def time_limit(self) -> float:
        return self.timeout_seconds


class SqlResult(QueryResult):
    kind: Literal["sql"] = "sql"
    columns: list[str]
    rows: list[list[Any]] = Field(description="Values as JSON has them: dates as ISO text, blobs as base64.")
    truncated: bool = Field(description="True when the query had more rows than ``limit``.")


def _checked(text: str) -> str:
    check_sql(text)
    return text


@register
class SqlRunner(QueryRunner[SqlQuery]):
    spec_model = SqlQuery
    result_model = SqlResult
    feature = "sql"
    lane = "sql"

    def calculate(self) -> SqlResult:
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
                untrusted=True,
            )
        except QueryBuildError as exc:
            raise QueryError(str(exc)) from None
        started = time.perf_counter()
        try:  # the time limit may be spent before the statement starts (a wait, a slow parse): same answer
            columns, rows = self.ctx.store.fetch_table(self.ctx.in_time(compiled))
        except QueryTooCostly as exc:
            raise QueryError(str(exc)) from None
        except QueryTimedOut:
            raise QueryError(
                f"the query ran longer than {self.spec.timeout_seconds:g} s (its wait for a turn included):"
                " narrow its date range, or aggregate earlier"
            ) from None
        except Exception as exc:  # the engine's own message is the useful one: unknown column…
            raise QueryError(f"the query failed: {str(exc).splitlines()[0]}") from None
        finally:
            self.ctx.sql_ms += (time.perf_counter() - started) * 1000
        truncated = len(rows) > self.spec.limit
        answer = [[jsonable(v) for v in row] for row in rows[: self.spec.limit]]
        size = len(orjson.dumps(answer, default=str))
        if size > MAX_ANSWER_BYTES:
            raise QueryError(
                f"the answer is {size // 1024 // 1024} MB, more than {MAX_ANSWER_BYTES // 1024 // 1024} MB:"
                " select fewer columns or rows, or aggregate"
            )
        return SqlResult(columns=columns, rows=answer, truncated=truncated)
