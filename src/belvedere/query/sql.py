"""SQL trees, bound values and the compiler that prints them for one engine, scoped to one project.

Every insight builds its SQL as a sqlglot tree. Three rules keep that safe and portable:

- Values never become SQL text: ``Params.bind`` turns each into a named placeholder, printed as ``$p0``
  for DuckDB or ``{p0:Type}`` for ClickHouse, and sent beside the statement.
- Engine differences live in one table, ``FUNCTIONS``: an insight calls a logical function
  (``fn("quantile", x, 0.9)``), and the compiler swaps it for that engine's spelling.
- The compiler scopes tenants, callers don't: ``compile_query`` replaces every reference to a scoped table
  (``events``, ``persons``, ``person_aliases``, ``visits``, ``remark_people``) with a subquery filtered
  on the project, and refuses any other table. ``CompiledQuery`` is the only thing a store runs, and only
  this module makes one.
- A person is counted once: when a query reads ``person_id`` from ``events``, an event sent under an id
  that was later aliased to a person (``person_aliases``) gets that person's id. Events keep the person
  known when they arrived, so this join is what makes a sign-up funnel's anonymous first steps and its
  identified last steps one person's. Joining every event is costly when a query only needs its distinct
  people: such a query reads ``EVENT_PERSON`` (the id as stored), reduces the rows first, and resolves
  the few that are left with ``through_aliases``.
- A query that only counts people (stats, trends' unique users, breakdown, retention, lifecycle, usage)
  can group them by ``PERSON_KEY``, a 64-bit hash of the stored id, rather than by the id's text: grouping
  millions of events by an integer is about a fifth cheaper. ``regroup_by_person(..., keyed=True)`` reads
  the alias links hashed the same way. Two people share a key with a probability of about n²/2⁶⁵ (3e-8 for
  a million people in one query), the same order as ClickHouse's own ``uniqExact``, which hashes strings to
  compare them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlglot
from sqlglot import exp

from belvedere.store.base import CompiledQuery, Dialect, Reads
from belvedere.store.schema import COLUMN_NAMES

SCOPED_TABLES = frozenset({"events", "persons", "person_aliases", "visits", "remark_people", "person_hours"})
# A pseudo-column of ``events``: the person known when the event arrived, not read through the alias links.
EVENT_PERSON = "event_person_id"
# Another pseudo-column: a 64-bit hash of EVENT_PERSON, NULL when it is NULL.
PERSON_KEY = "event_person_key"
_LOGICAL_PREFIX = "bv_"


class QueryBuildError(ValueError):
    """A query that the compiler refuses to print (an unscoped or unknown table, an unknown function)."""


@dataclass(slots=True)
class Params:
    """Collects the values of one query; each ``bind`` returns the placeholder that stands for it."""

    values: dict[str, Any] = field(default_factory=dict)

    def bind(self, value: Any) -> exp.Placeholder:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return exp.Placeholder(this=name)

    def slot(self, name: str) -> exp.Placeholder:
        """The placeholder of a value given by name when the query was started (``compile_shaped``)."""
        if name not in self.values:
            raise QueryBuildError(f"no value named {name!r}")
        return exp.Placeholder(this=name)


def fn(name: str, *args: exp.Expr | str | int | float) -> exp.Anonymous:
    """A logical function call; ``FUNCTIONS`` says how each engine spells it."""
    if name not in FUNCTIONS:
        raise QueryBuildError(f"unknown logical function {name!r}")
    return exp.Anonymous(this=_LOGICAL_PREFIX + name, expressions=[_expr(a) for a in args])


def _expr(value: exp.Expr | str | int | float) -> exp.Expr:
    if isinstance(value, exp.Expr):
        return value
    if isinstance(value, str):
        return exp.Literal.string(value)
    return exp.Literal.number(value)


def parse(sql: str) -> exp.Expr:
    """A fragment of Belvedere's own SQL (never user input), with ``bv_*`` logical functions in it.

    Each text is parsed once and then copied: the fragments are few and fixed, and a copy costs about a
    third of a parse (realtime's 40-odd fragments took ~6 ms to parse per query)."""
    return _parsed(sql).copy()


@functools.lru_cache(maxsize=2048)
def _parsed(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="duckdb")


def parse_select(sql: str) -> exp.Select:
    tree = parse(sql)
    if not isinstance(tree, exp.Select):
        raise QueryBuildError("expected a SELECT")
    return tree


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def _call(name: str) -> Callable[..., exp.Expr]:
    return lambda *args: exp.Anonymous(this=name, expressions=list(args))


def _ch_parametric(name: str) -> Callable[..., exp.Expr]:
    """ClickHouse parametric aggregates: ``quantileExactInclusive(0.9)(x)``."""

    def build(x: exp.Expr, q: exp.Expr) -> exp.Expr:
        return exp.Anonymous(this=f"{name}({q.sql('clickhouse')})", expressions=[x])

    return build


def _dk_interval_seconds(ts: exp.Expr, seconds: exp.Expr) -> exp.Expr:
    return exp.Add(this=ts, expression=exp.Anonymous(this="to_seconds", expressions=[seconds]))


def _dk_ms(ts: exp.Expr) -> exp.Expr:
    # Microseconds divided: DuckDB's own epoch_ms is four times slower (10 M timestamps: 88 against 24 ms).
    # Stored times are whole milliseconds, so the division is exact.
    micros = exp.Anonymous(this="epoch_us", expressions=[ts])
    return exp.Paren(this=exp.IntDiv(this=micros, expression=exp.Literal.number(1000)))


def _dk_trunc(unit: str) -> Callable[..., exp.Expr]:
    return lambda ts: exp.Anonymous(this="date_trunc", expressions=[exp.Literal.string(unit), ts])


def _ch_trunc(name: str) -> Callable[..., exp.Expr]:
    # Day and coarser truncations return a Date in ClickHouse; widen to DateTime so both engines agree.
    if name == "toStartOfHour":
        return _call(name)
    return lambda ts: exp.Anonymous(
        this="toDateTime", expressions=[exp.Anonymous(this=name, expressions=[ts])]
    )


# Text that both engines read as the same number: decimal notation, surrounding white space allowed. DuckDB's
# cast would also take '1_000', 'nan' and 'inf', ClickHouse's neither, nor any white space but a space.
_NUMBER_TEXT = "^[[:space:]]*[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?[[:space:]]*$"


def _dk_to_float(text: exp.Expr) -> exp.Expr:
    number = exp.TryCast(this=text.copy(), to=exp.DataType.build("DOUBLE"))
    return exp.Case().when(_call("regexp_full_match")(text, exp.Literal.string(_NUMBER_TEXT)), number)


def _ch_to_float(text: exp.Expr) -> exp.Expr:
    bare = _call("replaceRegexpAll")(text.copy(), exp.Literal.string("[[:space:]]"), exp.Literal.string(""))
    return exp.Case().when(
        _call("match")(text, exp.Literal.string(_NUMBER_TEXT)), _call("toFloat64OrNull")(bare)
    )


def _ch_json_double_text(text: exp.Expr, j: exp.Expr, k: exp.Expr) -> exp.Expr:
    """DuckDB prints a JSON double that has an integral value with a '.0' (``3.0``, ``-0.0``, ``1e15`` as
    ``1000000000000000.0``); ClickHouse prints it as an integer. Add the '.0' where DuckDB has it."""
    integral = exp.and_(
        _call("match")(text.copy(), exp.Literal.string("^-?[0-9]+$")),
        exp.EQ(this=_call("JSONType")(j, k), expression=exp.Literal.string("Double")),
    )
    return exp.Case().when(integral, _call("concat")(text.copy(), exp.Literal.string(".0"))).else_(text)


def _ch_prop_text(j: exp.Expr, k: exp.Expr) -> exp.Expr:
    # A string's value, or the JSON text of any other value (5, true, {"a":1}); NULL for null or absent.
    text = _call("JSONExtract")(j.copy(), k.copy(), exp.Literal.string("Nullable(String)"))
    return _ch_json_double_text(text, j, k)


def _ch_prop_raw(j: exp.Expr, k: exp.Expr) -> exp.Expr:
    # The JSON text of the value ('"pro"', 5, null); NULL when absent (JSONExtractRaw gives '').
    raw = _call("nullIf")(_call("JSONExtractRaw")(j.copy(), k.copy()), exp.Literal.string(""))
    return _ch_json_double_text(raw, j, k)


# Logical function → how each engine writes it. A new engine gap is one entry here.
def _template(sql: str, dialect: Dialect) -> Callable[..., exp.Expr]:
    """A call written in ``dialect``'s own SQL (for what has no common form, such as lambdas), whose
    ``_arg0``, ``_arg1``… columns stand for the arguments."""
    tree = sqlglot.parse_one(sql, read=dialect)

    def build(*args: exp.Expr) -> exp.Expr:
        out = tree.copy()
        for column in list(out.find_all(exp.Column)):
            if column.name.startswith("_arg") and not column.table:
                column.replace(args[int(column.name[4:])].copy())
        return out

    return build


FUNCTIONS: dict[str, dict[Dialect, Callable[..., exp.Expr]]] = {
    "add_seconds": {
        "duckdb": _dk_interval_seconds,
        "clickhouse": lambda ts, s: exp.Anonymous(this="addSeconds", expressions=[ts, s]),
    },
    "epoch_ms": {"duckdb": _dk_ms, "clickhouse": _call("toUnixTimestamp64Milli")},
    "hour_of": {"duckdb": _call("hour"), "clickhouse": _call("toHour")},
    "trunc_hour": {"duckdb": _dk_trunc("hour"), "clickhouse": _ch_trunc("toStartOfHour")},
    "trunc_day": {"duckdb": _dk_trunc("day"), "clickhouse": _ch_trunc("toStartOfDay")},
    "trunc_week": {"duckdb": _dk_trunc("week"), "clickhouse": _ch_trunc("toMonday")},
    "trunc_month": {"duckdb": _dk_trunc("month"), "clickhouse": _ch_trunc("toStartOfMonth")},
    "diff_days": {
        "duckdb": lambda a, b: _call("date_diff")(exp.Literal.string("day"), a, b),
        "clickhouse": lambda a, b: _call("dateDiff")(exp.Literal.string("day"), a, b),
    },
    "diff_seconds": {
        "duckdb": lambda a, b: _call("date_diff")(exp.Literal.string("second"), a, b),
        "clickhouse": lambda a, b: _call("dateDiff")(exp.Literal.string("second"), a, b),
    },
    "diff_months": {
        "duckdb": lambda a, b: _call("date_diff")(exp.Literal.string("month"), a, b),
        "clickhouse": lambda a, b: _call("dateDiff")(exp.Literal.string("month"), a, b),
    },
    # Integer division (of non-negative numbers): DuckDB's ``/`` is always a float division.
    "int_div": {
        "duckdb": lambda a, b: exp.Paren(this=exp.IntDiv(this=a, expression=b)),
        "clickhouse": _call("intDiv"),
    },
    # DuckDB's count_if gives NULL over no rows; a count should be 0, as ClickHouse's countIf is.
    "count_if": {
        "duckdb": lambda c: exp.Count(this=exp.If(this=c, true=exp.Literal.number(1))),
        "clickhouse": _call("countIf"),
    },
    "sum_if": {"duckdb": lambda x, c: _call("sum")(exp.If(this=c, true=x)), "clickhouse": _call("sumIf")},
    # The previous / next row's value, in a window framed on exactly that row (``ROWS BETWEEN 1 PRECEDING
    # AND 1 PRECEDING``): DuckDB's lag/lead (which ignore the frame) are cheaper than an aggregate over it.
    "prev_row": {"duckdb": _call("lag"), "clickhouse": lambda x: exp.Max(this=x)},
    "next_row": {"duckdb": _call("lead"), "clickhouse": lambda x: exp.Max(this=x)},
    "uniq_exact": {
        "duckdb": lambda x: exp.Count(this=exp.Distinct(expressions=[x])),
        "clickhouse": _call("uniqExact"),
    },
    "uniq_approx": {"duckdb": _call("approx_count_distinct"), "clickhouse": _call("uniqHLL12")},
    "quantile": {"duckdb": _call("quantile_cont"), "clickhouse": _ch_parametric("quantileExactInclusive")},
    "arg_min": {"duckdb": _call("arg_min"), "clickhouse": _call("argMin")},
    # One row per element of a list (a set-returning function in the SELECT list).
    "unnest": {"duckdb": _call("unnest"), "clickhouse": _call("arrayJoin")},
    "arg_max": {"duckdb": _call("arg_max"), "clickhouse": _call("argMax")},
    # Whether a list holds a value; whether any of its texts matches a regular expression.
    "has": {"duckdb": _call("list_contains"), "clickhouse": _call("has")},
    "any_matches": {
        "duckdb": _template("len(list_filter(_arg0, LAMBDA x : regexp_matches(x, _arg1))) > 0", "duckdb"),
        "clickhouse": _template("arrayExists(x -> match(x, _arg1), _arg0)", "clickhouse"),
    },
    # Person hours (``query.person_hours``): an instant's whole hours since the epoch and back, whether a
    # list of hours has one in [_arg1, _arg2), and the distinct buckets (_arg3, an expression of the hour
    # ``h``) of those that do.
    "hour_number": {
        "duckdb": _template("CAST(epoch_us(_arg0) // 3600000000 AS INTEGER)", "duckdb"),
        "clickhouse": _template("toInt32(intDiv(toUnixTimestamp64Milli(_arg0), 3600000))", "clickhouse"),
    },
    "hour_start": {
        "duckdb": _template("make_timestamp(CAST(_arg0 AS BIGINT) * 3600000000)", "duckdb"),
        "clickhouse": _template("toDateTime64(_arg0 * 3600, 3, 'UTC')", "clickhouse"),
    },
    "hours_in": {
        "duckdb": _template("len(list_filter(_arg0, LAMBDA h : h >= _arg1 AND h < _arg2)) > 0", "duckdb"),
        "clickhouse": _template("arrayExists(h -> h >= _arg1 AND h < _arg2, _arg0)", "clickhouse"),
    },
    "buckets_of_hours": {
        "duckdb": _template(
            "list_distinct(list_transform(list_filter(_arg0, LAMBDA h : h >= _arg1 AND h < _arg2),"
            " LAMBDA h : _arg3))",
            "duckdb",
        ),
        "clickhouse": _template(
            "arrayDistinct(arrayMap(h -> _arg3, arrayFilter(h -> h >= _arg1 AND h < _arg2, _arg0)))",
            "clickhouse",
        ),
    },
    # The positions 1..n of a list, one row each (NULL or empty list: no row).
    "each_position": {
        "duckdb": lambda x: _call("unnest")(
            _call("range")(
                exp.Literal.number(1), exp.Add(this=_call("len")(x), expression=exp.Literal.number(1))
            )
        ),
        "clickhouse": lambda x: _call("arrayJoin")(
            _call("range")(
                exp.Literal.number(1), exp.Add(this=_call("length")(x), expression=exp.Literal.number(1))
            )
        ),
    },
    # Whether a visit's pages carry marks (`visits.pages_before`, see `store.page_marks`): DuckDB's unmarked
    # visits hold NULL; ClickHouse keeps no marks, its view gives every visit an empty list.
    "marked": {
        "duckdb": lambda x: exp.Not(this=exp.Is(this=x, expression=exp.Null())),
        "clickhouse": _call("notEmpty"),
    },
    # A visit's page marks, one row each beside its pages (``unnest(pages)`` in the same SELECT list: DuckDB
    # unnests the two lists of a row in step). ClickHouse keeps no marks: NULL beside each page.
    "marks_beside": {"duckdb": _call("unnest"), "clickhouse": lambda x: exp.Null()},
    # A visit's page views of each page (`visits.page_views`, in the order of `pages`), beside the page
    # (``value``, unnested from ``pages`` in the same SELECT list): DuckDB unnests the two lists in step;
    # ClickHouse, whose `arrayJoin` cannot, looks the page up in the list.
    "views_beside": {
        "duckdb": lambda views, pages, value: _call("unnest")(views),
        "clickhouse": lambda views, pages, value: _call("arrayElement")(
            views, _call("indexOf")(pages, value)
        ),
    },
    # The element of a list at a position (1-based), and a list's length.
    "at": {"duckdb": _call("list_extract"), "clickhouse": _call("arrayElement")},
    "list_len": {"duckdb": _call("len"), "clickhouse": _call("length")},
    # The paths (`p`) of a visit's `page_seq`, in its order, each immediate repeat (a reload) folded.
    "folded_paths": {
        "duckdb": _template(
            "list_transform(list_filter(_arg0, LAMBDA x, i : i = 1 OR x.p <> _arg0[i - 1].p),"
            " LAMBDA x : x.p)",
            "duckdb",
        ),
        "clickhouse": _template(
            "arrayMap(x -> tupleElement(x, 'p'), arrayFilter((x, i) -> i = 1"
            " OR tupleElement(x, 'p') != tupleElement(arrayElement(_arg0, i - 1), 'p'),"
            " _arg0, arrayEnumerate(_arg0)))",
            "clickhouse",
        ),
    },
    # Bit n of a 64-bit integer set (n < 63), the OR of such integers over a group, and bit n of one.
    "bit": {
        "duckdb": lambda n: exp.Paren(
            this=exp.BitwiseLeftShift(this=exp.cast(exp.Literal.number(1), "BIGINT"), expression=n)
        ),
        # Clamped at 0: ClickHouse may compute a CASE branch for rows the branch does not keep (those of a
        # retention mask before its first period), and refuses a negative shift even there.
        "clickhouse": lambda n: _call("bitShiftLeft")(
            _call("toInt64")(exp.Literal.number(1)), _call("greatest")(n, exp.Literal.number(0))
        ),
    },
    "bit_or": {"duckdb": _call("bit_or"), "clickhouse": _call("groupBitOr")},
    "bit_at": {
        "duckdb": lambda x, n: exp.Paren(
            this=exp.BitwiseAnd(
                this=exp.Paren(this=exp.BitwiseRightShift(this=x, expression=n)),
                expression=exp.Literal.number(1),
            )
        ),
        "clickhouse": lambda x, n: _call("toInt64")(_call("bitTest")(x, n)),
    },
    # A 64-bit hash of a text, NULL for NULL (DuckDB's hash(NULL) is a number; ClickHouse's keeps NULL).
    "key64": {
        "duckdb": lambda x: exp.If(
            this=exp.Not(this=exp.Is(this=x, expression=exp.Null())), true=_call("hash")(x.copy())
        ),
        "clickhouse": _call("cityHash64"),
    },
    # A property key, bound twice: as a JSON pointer (``/plan``) for DuckDB and as a plain key for ClickHouse.
    "prop_key": {"duckdb": lambda pointer, key: pointer, "clickhouse": lambda pointer, key: key},
    # A property as text, addressed by a JSON pointer (``/plan``) for DuckDB or a key for ClickHouse.
    "prop_text": {"duckdb": _call("json_extract_string"), "clickhouse": _ch_prop_text},
    "prop_raw": {"duckdb": _call("json_extract"), "clickhouse": _ch_prop_raw},
    # Text as a number, NULL unless it is a plain decimal number (so 'nan', 'inf' and '1_000' are not).
    "to_float": {"duckdb": _dk_to_float, "clickhouse": _ch_to_float},
    # One row per top-level key of a JSON object (a set-returning function in the SELECT list).
    "json_keys_each": {
        "duckdb": lambda j: _call("unnest")(_call("json_keys")(j)),
        "clickhouse": lambda j: _call("arrayJoin")(_call("JSONExtractKeys")(j)),
    },
    "regex_match": {"duckdb": _call("regexp_matches"), "clickhouse": _call("match")},
    "contains": {
        "duckdb": lambda s, sub: exp.GT(this=_call("strpos")(s, sub), expression=exp.Literal.number(0)),
        "clickhouse": lambda s, sub: exp.GT(this=_call("position")(s, sub), expression=exp.Literal.number(0)),
    },
}


def _lower_functions(tree: exp.Expr, dialect: Dialect) -> exp.Expr:
    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Anonymous) and _is_logical(node):
            name = str(node.this)[len(_LOGICAL_PREFIX) :]
            if name not in FUNCTIONS:
                raise QueryBuildError(f"unknown logical function {name!r}")
            # Some spellings are operators (``a // b``, ``ts + to_seconds(s)``): keep compound arguments
            # whole.
            args = [exp.Paren(this=a) if isinstance(a, exp.Binary) else a for a in node.expressions]
            return FUNCTIONS[name][dialect](*args)
        return node

    # A replacement's own arguments may hold logical calls too (nested calls): lower until none is left.
    while any(_is_logical(node) for node in tree.find_all(exp.Anonymous)):
        tree = tree.transform(swap, copy=False)
    return tree


def _is_logical(node: exp.Anonymous) -> bool:
    return str(node.this).startswith(_LOGICAL_PREFIX)


def _scoped(name: str, project: exp.Placeholder, alias: str) -> exp.Subquery:
    inner = (
        exp.select(exp.Star())
        .from_(exp.Table(this=exp.to_identifier(name)))
        .where(exp.EQ(this=exp.column("project_id"), expression=project.copy()))
    )
    return exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _events_by_person(project: exp.Placeholder, alias: str) -> exp.Subquery:
    """The project's events, ``person_id`` read through ``person_aliases``."""
    person = exp.Coalesce(this=exp.column("person_id", "a"), expressions=[exp.column("person_id", "e")])
    columns = [
        person.as_("person_id") if name == "person_id" else exp.column(name, "e") for name in COLUMN_NAMES
    ]
    inner = (
        exp.select(*columns)
        .from_(_scoped("events", project, "e"))
        .join(
            _scoped("person_aliases", project, "a"),
            on=exp.EQ(this=exp.column("alias", "a"), expression=exp.column("person_id", "e")),
            join_type="left",
        )
    )
    return exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _reads_person(table: exp.Table) -> bool:
    """Whether the SELECT reading this ``events`` table may use its ``person_id``: by name anywhere in
    that SELECT (subqueries included), or through a ``*`` projection."""
    select = table.find_ancestor(exp.Select)
    if select is None:
        return True
    if any(c.name.lower() == "person_id" for c in select.find_all(exp.Column)):
        return True
    return any(isinstance(e, exp.Star) or isinstance(e.this, exp.Star) for e in select.expressions)


def _scope_tables(tree: exp.Expr, project: exp.Placeholder, every_person: bool) -> exp.Expr:
    # Decided on the tree as written, before any table is replaced.
    by_person = {
        id(t)
        for t in tree.find_all(exp.Table)
        if t.name.lower() == "events" and (every_person or _reads_person(t))
    }

    def scope(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Table):
            return node
        name = node.name.lower()
        if not isinstance(node.this, exp.Identifier) or node.args.get("db") or node.args.get("catalog"):
            raise QueryBuildError(f"table {node.sql()!r} is not allowed")
        if name not in SCOPED_TABLES and cte_in_scope(node):
            return node
        if name not in SCOPED_TABLES:
            raise QueryBuildError(f"unknown table {node.name!r}; only events can be queried")
        alias = node.alias or name
        if id(node) in by_person:
            return _events_by_person(project, alias)
        return _scoped(name, project, alias)

    # Scoped subqueries are built from fresh Table nodes, which the transform does not revisit.
    return tree.transform(scope, copy=False)


def cte_in_scope(table: exp.Table) -> bool:
    """Whether ``table`` names a WITH query visible where it stands: one of an enclosing query's WITH, and,
    inside a WITH query's own definition, only those defined before it (recursion is not followed).

    A name that any WITH anywhere defines is not enough: out of that WITH's scope, the engine reads the
    name as a catalog table, or even as a file path (DuckDB's replacement scans)."""
    name = table.name.lower()
    child: exp.Expr = table
    node = table.parent
    while node is not None:
        visible: list[exp.Expr] = []
        if isinstance(node, exp.With) and isinstance(child, exp.CTE):
            position = next(i for i, cte in enumerate(node.expressions) if cte is child)
            visible = node.expressions[:position]
        elif isinstance(node, exp.Query):
            with_ = node.args.get("with_")
            if isinstance(with_, exp.With) and child is not with_:
                visible = with_.expressions
        if any(cte.alias_or_name.lower() == name for cte in visible):
            return True
        child, node = node, node.parent
    return False


def keyed_aliases() -> exp.Subquery:
    """The alias links with both ids as person keys (see ``PERSON_KEY``)."""
    return parse_select(
        "SELECT bv_key64(alias) AS alias, bv_key64(person_id) AS person_id FROM person_aliases"
    ).subquery("pa")


def through_aliases(rows: exp.Query, who: str = "who", *, keyed: bool = False) -> tuple[exp.Select, exp.Expr]:
    """``rows`` (with stored person ids in column ``who``, or their keys when ``keyed``) joined to the alias
    links, and the expression of each row's person. Several stored ids can be one person: the caller
    groups or counts distinct again."""
    links: exp.Expr = keyed_aliases() if keyed else exp.to_table("person_aliases").as_("pa")
    base = (
        exp.select()
        .from_(rows.subquery("r"))
        .join(links, on=exp.EQ(this=col("alias", "pa"), expression=col(who, "r")), join_type="left")
    )
    return base, exp.Coalesce(this=col("person_id", "pa"), expressions=[col(who, "r")])


_COMBINE: dict[str, Callable[..., exp.Expr]] = {
    "min": exp.Min,
    "max": exp.Max,
    "sum": exp.Sum,
    "bit_or": lambda this: fn("bit_or", this),
}


def regroup_by_person(
    rows: exp.Select, keys: list[str], partials: dict[str, str] | None = None, *, keyed: bool = False
) -> exp.Select:
    """``rows`` grouped by stored id (column ``who``; its key when ``keyed``) and ``keys``, regrouped by
    person: the alias links can make several stored ids one person, whose partial aggregates
    (``{column: "min" | "max" | "sum" | "bit_or"}``) are combined."""
    base, person = through_aliases(rows, keyed=keyed)
    combined = [_COMBINE[how](this=col(name, "r")).as_(name) for name, how in (partials or {}).items()]
    return base.select(person.as_("who"), *[col(k, "r").as_(k) for k in keys], *combined).group_by(
        person.copy(), *[col(k, "r") for k in keys]
    )


def _cte_names(tree: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


_CH_TYPES: dict[type, str] = {
    bool: "Bool",
    int: "Int64",
    float: "Float64",
    str: "String",
    datetime: "DateTime64(3)",
    date: "Date",
}


def _placeholder_type(value: Any) -> str:
    if isinstance(value, list | tuple):
        inner = _placeholder_type(value[0]) if value else "String"
        return f"Array({inner})"
    for kind, name in _CH_TYPES.items():
        if type(value) is kind:
            return name
    raise QueryBuildError(f"cannot bind a value of type {type(value).__name__}")


def compile_query(
    tree: exp.Expr,
    *,
    params: Params,
    project_id: int,
    dialect: Dialect,
    timeout_seconds: float | None = None,
    every_person: bool = False,
    untrusted: bool = False,
) -> CompiledQuery:
    """Scope every table to ``project_id``, spell logical functions for ``dialect``, print the SQL.

    ``person_id`` is read through the alias links wherever a SELECT over ``events`` uses it — or, with
    ``every_person`` (user SQL, which can reach a row's columns in ways not worth tracing), everywhere.
    ``untrusted`` marks a statement written by a user (checked by ``query.sandbox``): the store runs it
    under its sandbox's settings."""
    tree = tree.copy()
    values = dict(params.values)
    values["project"] = project_id
    project = exp.Placeholder(this="project")
    ctes = _cte_names(tree)
    if ctes & SCOPED_TABLES:
        # Inside the scoping subquery, the name would mean the CTE, not the table: refuse the ambiguity.
        raise QueryBuildError(f"a WITH name may not be {', '.join(sorted(ctes & SCOPED_TABLES))}")
    reads = _reads(tree, project_id) if untrusted else None
    tree = _scope_tables(tree, project, every_person)
    for column in list(tree.find_all(exp.Column)):
        if column.name == EVENT_PERSON:
            column.set("this", exp.to_identifier("person_id"))
        elif column.name == PERSON_KEY:
            column.replace(fn("key64", exp.column("person_id", column.table or None)))
    tree = _lower_functions(tree, dialect)
    if dialect == "clickhouse":
        kinds = {name: _placeholder_type(value) for name, value in values.items()}

        def typed(node: exp.Expr) -> exp.Expr:
            if isinstance(node, exp.Placeholder) and node.name in kinds:
                return exp.Placeholder(
                    this=node.name, kind=exp.DataType.build(kinds[node.name], "clickhouse")
                )
            return node

        tree = tree.transform(typed, copy=False)
    used = {node.name for node in tree.find_all(exp.Placeholder)}
    values = {name: value for name, value in values.items() if name in used}
    return CompiledQuery(
        sql=tree.sql(dialect),
        params=values,
        dialect=dialect,
        timeout_seconds=timeout_seconds,
        untrusted=untrusted,
        reads=reads,
    )


def _reads(tree: exp.Expr, project_id: int) -> Reads:
    """The tables and column names a user statement reads (see ``Reads``): every identifier in it counts as
    a column it may name, which can only over-approximate."""
    tables = {t.name.lower() for t in tree.find_all(exp.Table)} & SCOPED_TABLES
    relations = {node.alias_or_name.lower() for node in tree.find_all(exp.Table, exp.Subquery, exp.CTE)}
    named = {c.name.lower() for c in tree.find_all(exp.Column)}
    everything = any(isinstance(s.parent, exp.Select | exp.Column) for s in tree.find_all(exp.Star))
    if everything or named & relations:
        columns = None
    else:
        columns = {i.name.lower() for i in tree.find_all(exp.Identifier)}
        if columns & {"person_id", EVENT_PERSON, PERSON_KEY}:
            columns |= {"person_id", "alias"}
    if "events" in tables and (columns is None or "person_id" in columns):
        tables.add("person_aliases")  # the compiler reads person_id through the alias links
    frozen = None if columns is None else frozenset(columns)
    return Reads(project_id=project_id, tables=tuple(sorted(tables)), columns=frozen)
