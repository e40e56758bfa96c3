"""What user SQL may contain, decided on its parsed tree by allowlists (see docs/security.md).

A statement passes only if every node of its tree is one of a few reviewed kinds:

- one query: SELECT, or a set operation of SELECTs, with WITH (not RECURSIVE), joins, subqueries, GROUP BY,
  HAVING, QUALIFY, windows, ORDER BY, LIMIT and OFFSET;
- expressions: columns (at most ``table.column``), literals, operators, CASE, CAST to plain types, and
  calls of the reviewed functions of ``functions.py``;
- relations: only the project's views (``events``, ``persons``…) or a WITH query that is in scope where it
  is named, by plain unqualified names. Everything else a FROM can hold in DuckDB (table functions, quoted
  file paths read by replacement scans, ``LATERAL``, ``VALUES``, ``UNNEST``, samples, pivots, catalog or
  schema names) is refused.

No placeholders either: the compiler's own bound values are the only ones. Anything not on a list is refused
with its name, so a new engine feature is closed until someone reviews it.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from belvedere.query.sandbox.functions import allowed_anonymous, allowed_classes
from belvedere.query.sql import SCOPED_TABLES, cte_in_scope

# The relations user SQL may name (each scoped to the project by the compiler).
USER_VIEWS = frozenset({"events", "persons", "person_aliases", "visits"})
MAX_DEPTH = 64
MAX_NODES = 4_000

# Nodes that hold a query together and compute nothing of their own beyond what their children do.
_STRUCTURE: frozenset[type[exp.Expr]] = frozenset(
    {
        exp.Select,
        exp.Union,
        exp.Intersect,
        exp.Except,
        exp.Subquery,
        exp.With,
        exp.CTE,
        exp.From,
        exp.Join,
        exp.Where,
        exp.Group,
        exp.Having,
        exp.Qualify,
        exp.Order,
        exp.Ordered,
        exp.Limit,
        exp.Offset,
        exp.Window,
        exp.WindowSpec,
        exp.Filter,
        exp.Distinct,
        exp.Alias,
        exp.TableAlias,
        exp.Table,
        exp.Column,
        exp.Identifier,
        exp.Star,
        exp.Literal,
        exp.Null,
        exp.Boolean,
        exp.Paren,
        exp.Tuple,
        exp.Array,
        exp.Bracket,
        exp.DataType,
        exp.Interval,
        exp.Var,
        exp.JSONPath,
        exp.JSONPathKey,
        exp.JSONPathRoot,
        exp.JSONPathSubscript,
        exp.IgnoreNulls,
        exp.RespectNulls,
        # Predicates and operators: their results are no larger than their operands.
        exp.And,
        exp.Or,
        exp.Not,
        exp.Neg,
        exp.Is,
        exp.In,
        exp.Between,
        exp.Exists,
        exp.Like,
        exp.ILike,
        exp.EQ,
        exp.NEQ,
        exp.NullSafeEQ,
        exp.NullSafeNEQ,
        exp.GT,
        exp.GTE,
        exp.LT,
        exp.LTE,
        exp.Add,
        exp.Sub,
        exp.Mul,
        exp.Div,
        exp.IntDiv,
        exp.Mod,
        exp.DPipe,
        exp.BitwiseAnd,
        exp.BitwiseOr,
        exp.BitwiseXor,
        exp.BitwiseNot,
    }
)

# Types a value may be cast to: scalars, and lists of them.
_TYPES = frozenset(
    {
        exp.DataType.Type.BOOLEAN,
        exp.DataType.Type.TINYINT,
        exp.DataType.Type.SMALLINT,
        exp.DataType.Type.INT,
        exp.DataType.Type.BIGINT,
        exp.DataType.Type.INT128,
        exp.DataType.Type.UTINYINT,
        exp.DataType.Type.USMALLINT,
        exp.DataType.Type.UINT,
        exp.DataType.Type.UBIGINT,
        exp.DataType.Type.FLOAT,
        exp.DataType.Type.DOUBLE,
        exp.DataType.Type.DECIMAL,
        exp.DataType.Type.VARCHAR,
        exp.DataType.Type.TEXT,
        exp.DataType.Type.CHAR,
        exp.DataType.Type.DATE,
        exp.DataType.Type.TIME,
        exp.DataType.Type.TIMESTAMP,
        exp.DataType.Type.TIMESTAMPTZ,
        exp.DataType.Type.INTERVAL,
        exp.DataType.Type.JSON,
        exp.DataType.Type.UUID,
        exp.DataType.Type.ARRAY,
        exp.DataType.Type.LIST,
    }
)
# Keywords that sqlglot keeps as ``exp.Var``: units of time, and GROUP BY / ORDER BY ALL.
_VAR_TEXT = re.compile(r"^[A-Za-z_]{1,20}$")
# The arguments a table reference may carry: its name and an alias (no sample, pivot, hint, lateral…).
_TABLE_ARGS = frozenset({"this", "alias"})


class SqlRefused(ValueError):
    """User SQL that may not run, with the reason in words the user can act on."""


def check_sql(text: str) -> exp.Query:
    """The tree of ``text`` if it is one allowed query; else ``SqlRefused`` saying what is not allowed."""
    tree = _parse(text)
    if not isinstance(tree, exp.Query):
        raise SqlRefused("only SELECT queries are allowed")
    for count, node in enumerate(tree.walk(), start=1):
        if count > MAX_NODES:
            raise SqlRefused(f"the query is too large (more than {MAX_NODES} parts)")
        _check_node(node)
    if _depth(tree) > MAX_DEPTH:
        raise SqlRefused(f"the query is nested too deeply (more than {MAX_DEPTH} levels)")
    return tree


def _parse(text: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except (ParseError, TokenError) as exc:
        errors = getattr(exc, "errors", None)
        reason = errors[0]["description"] if errors else str(exc).splitlines()[0]
        raise SqlRefused(f"not valid SQL: {reason}") from None
    except RecursionError:
        raise SqlRefused(f"the query is nested too deeply (more than {MAX_DEPTH} levels)") from None
    if len(statements) != 1:
        raise SqlRefused("send exactly one SELECT statement")
    return statements[0]


def _depth(tree: exp.Expr) -> int:
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node.iter_expressions())
    return deepest


def _check_node(node: exp.Expr) -> None:
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        if name not in allowed_anonymous():
            raise SqlRefused(f"function {name!r} is not allowed")
        return
    kind = type(node)
    if isinstance(node, exp.Func) and kind in allowed_classes():
        if kind in (exp.Cast, exp.TryCast):
            _check_type(node.args["to"])
        return
    if kind not in _STRUCTURE:
        raise SqlRefused(f"{_describe(node)} is not allowed")
    if isinstance(node, exp.With) and node.args.get("recursive"):
        raise SqlRefused("WITH RECURSIVE is not allowed")
    if isinstance(node, exp.Table):
        _check_table(node)
    elif isinstance(node, exp.Column) and (node.args.get("db") or node.args.get("catalog")):
        raise SqlRefused(f"column {node.sql('duckdb')!r}: write at most table.column")
    elif isinstance(node, exp.Var) and not _VAR_TEXT.match(node.name):
        raise SqlRefused(f"{node.name!r} is not allowed")
    elif isinstance(node, exp.CTE) and node.alias_or_name.lower() in SCOPED_TABLES:
        raise SqlRefused(f"a WITH query may not be named {node.alias_or_name!r}")


def _check_type(to: exp.DataType) -> None:
    for part in to.find_all(exp.DataType):
        if part.this not in _TYPES:
            raise SqlRefused(f"casting to {part.sql('duckdb')} is not allowed")


def _check_table(table: exp.Table) -> None:
    extra = {k for k, v in table.args.items() if v and k not in _TABLE_ARGS}
    if extra or not isinstance(table.this, exp.Identifier):
        raise SqlRefused(f"{table.sql('duckdb')!r} is not allowed: name one of {_views()} or a WITH query")
    name = table.name.lower()
    if name in USER_VIEWS or (name not in SCOPED_TABLES and cte_in_scope(table)):
        return
    raise SqlRefused(f"unknown table {table.name!r}: query one of {_views()} or a WITH query in scope")


def _views() -> str:
    return ", ".join(sorted(USER_VIEWS))


def _describe(node: exp.Expr) -> str:
    if isinstance(node, exp.Func):
        return f"function {node.sql_name().lower()!r}"
    names = {
        exp.Lateral: "LATERAL",
        exp.Values: "VALUES",
        exp.Unnest: "UNNEST",
        exp.Placeholder: "a parameter",
        exp.Parameter: "a parameter",
        exp.Dot: "a qualified name",
        exp.Lambda: "a lambda",
    }
    return names.get(type(node), type(node).__name__)
