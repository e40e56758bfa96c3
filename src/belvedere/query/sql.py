"""SQL trees, bound values and the compiler that prints them for one engine, scoped to one project.

Every insight builds its SQL as a sqlglot tree. Three rules keep that safe and portable:

- Values never become SQL text: ``Params.bind`` turns each into a named placeholder, printed as ``$p0``
  for DuckDB or ``{p0:Type}`` for ClickHouse, and sent beside the statement.
- Engine differences live in one table, ``query.functions.FUNCTIONS``: an insight calls a logical function
  (``fn("quantile", x, 0.9)``), and the compiler swaps it for that engine's spelling.
- The compiler scopes tenants, callers don't: ``compile_query`` replaces every reference to a scoped table
  (``events``, ``persons``, ``person_aliases``, ``visits``, ``remark_people``, ``person_hours``,
  ``cohort_members``) with a
  subquery filtered on the project, and refuses any other table. ``CompiledQuery`` is the only thing a
  store runs, and only this module makes one.
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

from belvedere.query.functions import FUNCTIONS
from belvedere.store.base import CompiledQuery, Dialect, Reads
from belvedere.store.schema import COLUMN_NAMES

SCOPED_TABLES = frozenset(
    {"events", "persons", "person_aliases", "visits", "remark_people", "person_hours", "cohort_members"}
)
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


def _scoped(name: str, project: exp.Placeholder, alias: str, *, stored_person: bool = False) -> exp.Subquery:
    """The project's rows of ``name``; ``stored_person``: with ``EVENT_PERSON`` (events only)."""
    extra = [exp.column("person_id").as_(EVENT_PERSON)] if stored_person else []
    inner = (
        exp.select(exp.Star(), *extra)
        .from_(exp.Table(this=exp.to_identifier(name)))
        .where(exp.EQ(this=exp.column("project_id"), expression=project.copy()))
    )
    return exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _events_by_person(project: exp.Placeholder, alias: str, *, stored_person: bool) -> exp.Subquery:
    """The project's events, ``person_id`` read through ``person_aliases`` (and, with ``stored_person``,
    the id as stored as ``EVENT_PERSON``)."""
    person = exp.Coalesce(this=exp.column("person_id", "a"), expressions=[exp.column("person_id", "e")])
    columns = [
        person.as_("person_id") if name == "person_id" else exp.column(name, "e") for name in COLUMN_NAMES
    ]
    if stored_person:
        columns.append(exp.column("person_id", "e").as_(EVENT_PERSON))
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


def _scope_tables(
    tree: exp.Expr, project: exp.Placeholder, every_person: bool, stored_person: bool
) -> exp.Expr:
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
            return _events_by_person(project, alias, stored_person=stored_person)
        return _scoped(name, project, alias, stored_person=stored_person and name == "events")

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


def first_values_by_person(
    values: list[exp.Expr], where: exp.Expr, period: exp.Expr | None = None
) -> exp.Select:
    """Per person (their ids read through the alias links; and per ``period``, a column the caller names):
    the first value of each of ``values`` that their events matching ``where`` carry, as ``v0``, ``v1``…
    (NULL when none does). Each stored id first gives its own first value of each and when it came
    (``t0``…); the person's is the one that came first."""
    ts = col("timestamp")
    firsts = [fn("arg_min", v, ts.copy()).as_(f"v{i}") for i, v in enumerate(values)]
    when = [
        exp.Min(
            this=exp.If(this=exp.Not(this=exp.Is(this=v.copy(), expression=exp.Null())), true=ts.copy())
        ).as_(f"t{i}")
        for i, v in enumerate(values)
    ]
    keys = [] if period is None else [period.alias]
    stored = (
        exp.select(*([] if period is None else [period]), col(PERSON_KEY).as_("who"), *firsts, *when)
        .from_("events")
        .where(exp.and_(where, exp.Not(this=exp.Is(this=col(PERSON_KEY), expression=exp.Null()))))
        .group_by(*keys, "who")
    )
    base, person = through_aliases(stored, keyed=True)
    regrouped = [fn("arg_min", col(f"v{i}", "r"), col(f"t{i}", "r")).as_(f"v{i}") for i in range(len(values))]
    return base.select(person.as_("who"), *(col(k, "r").as_(k) for k in keys), *regrouped).group_by(
        person.copy(), *(col(k, "r") for k in keys)
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
    # The id as stored is a column of the scoped events when the tree asks for it: read through the alias
    # links a second time (a filter on the person's traits or cohort makes the events' person_id resolved),
    # the second of two chained links (a → b → c) would count a's events as c's.
    stored_person = any(c.name in (EVENT_PERSON, PERSON_KEY) for c in tree.find_all(exp.Column))
    tree = _scope_tables(tree, project, every_person, stored_person)
    for column in list(tree.find_all(exp.Column)):
        if column.name == PERSON_KEY:
            column.replace(fn("key64", exp.column(EVENT_PERSON, column.table or None)))
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
