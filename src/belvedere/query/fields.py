"""What a user may name in a query — a typed column or ``properties.<key>`` — and the filters over them.

Names are checked against the schema, never pasted: a typed column must be one of ``FILTERABLE``; a
property key may be any text, and is bound as a value (a JSON pointer for DuckDB, a key for ClickHouse).
"""

from __future__ import annotations

import threading
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlglot import exp

from belvedere.query.sql import Params, col, fn
from belvedere.store.sandbox import LOCKED_DOWN
from belvedere.store.schema import EVENT_COLUMNS

PROPERTY_PREFIX = "properties."
PERSON_PREFIX = "person."  # a trait of the event's person (from `identify`): filters only
COHORT = "cohort"  # filters only: the event's person is a member of the saved cohort(s) (ids as values)
_COHORT_OPERATORS = ("eq", "neq", "in", "not_in")
# Time is chosen with date_from/date_to; ids and raw JSON are not fields to filter or group by.
_HIDDEN = {"uuid", "project_id", "properties", "received_at", "timestamp"}
FILTERABLE: frozenset[str] = frozenset(c.name for c in EVENT_COLUMNS if c.name not in _HIDDEN)
NUMERIC_COLUMNS: frozenset[str] = frozenset(c.name for c in EVENT_COLUMNS if c.kind == "float")

# Caps that keep a small request from costing the server much (issue #25, finding 8); each is a clear 422.
MAX_FILTERS = 50
MAX_VALUES = 500
MAX_TEXT = 1000

Operator = Literal[
    "eq",
    "neq",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "regex",
    "gt",
    "gte",
    "lt",
    "lte",
    "is_set",
    "is_not_set",
]
Scalar = str | int | float | bool


def check_breakdown(name: str | None) -> str | None:
    """A breakdown: a field to group by, or ``cohort`` (one line per cohort of ``breakdown_cohorts``)."""
    return name if name is None or name == COHORT else check_dimension(name)


def check_breakdown_cohorts(breakdown: str | None, cohorts: list[int]) -> None:
    """``breakdown_cohorts`` go with ``breakdown: cohort``: 1 to 10 distinct positive ids."""
    if (breakdown == COHORT) != bool(cohorts):
        raise ValueError("breakdown_cohorts goes with breakdown: cohort, which needs 1 to 10 cohort ids")
    if any(i <= 0 or i >= 2**63 for i in cohorts) or len(set(cohorts)) < len(cohorts):
        raise ValueError("breakdown_cohorts: distinct positive cohort ids")


def check_dimension(name: str) -> str:
    """A field to group by: a text field or property (numbers are measured, not grouped)."""
    check_field(name)
    if name in NUMERIC_COLUMNS:
        raise ValueError(f"{name} is a number: sum or average it in a trend instead of grouping by it")
    if name.startswith(PERSON_PREFIX):
        raise ValueError(f"{name} is a person's trait: filter on it, group by an event field or property")
    return name


def check_field(name: str) -> str:
    if name.startswith(PERSON_PREFIX):
        key = name[len(PERSON_PREFIX) :]
        if not key or len(key) > 200:
            raise ValueError("a person's trait needs 1 to 200 characters after 'person.'")
        return name
    if name.startswith(PROPERTY_PREFIX):
        key = name[len(PROPERTY_PREFIX) :]
        if not key or len(key) > 200:
            raise ValueError("a property name needs 1 to 200 characters after 'properties.'")
        return name
    if name not in FILTERABLE:
        raise ValueError(
            f"unknown field {name!r}: use one of {', '.join(sorted(FILTERABLE))}, or properties.<name>"
        )
    return name


def _pointer(key: str) -> str:
    """RFC 6901: the key as one JSON-pointer segment, so dots, slashes or brackets in it stay literal."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _property_key(name: str, params: Params) -> exp.Expr:
    # Both forms are bound values; which one the engine gets is decided at print time.
    key = name[len(PROPERTY_PREFIX) :]
    return fn("prop_key", params.bind(_pointer(key)), params.bind(key))


def text_field(name: str, params: Params, table: str | None = None) -> exp.Expr:
    """The field as text (NULL when absent)."""
    if name.startswith(PROPERTY_PREFIX):
        return fn("prop_text", col("properties", table), _property_key(name, params))
    return col(name, table)


def number_field(name: str, params: Params, table: str | None = None) -> exp.Expr:
    """The field as a number (NULL when absent or not numeric)."""
    if name in NUMERIC_COLUMNS:
        return col(name, table)
    return fn("to_float", text_field(name, params, table))


class Filter(BaseModel):
    property: str = Field(
        description="A typed column (`browser`, `path`, …), `properties.<name>`, `person.<trait>`, or"
        " `cohort` (the event's person is in the saved cohort(s) whose ids are the values)."
    )
    operator: Operator = "eq"
    value: Scalar | list[Scalar] | None = None

    _check_property = field_validator("property")(
        classmethod(lambda cls, v: v if v == COHORT else check_field(v))
    )

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Filter:
        op, value = self.operator, self.value
        if self.property == COHORT:
            return self._cohorts_named()
        if op in ("is_set", "is_not_set"):
            return self
        if value is None:
            raise ValueError(f"operator {op!r} needs a value")
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise ValueError(f"operator {op!r} needs a non-empty list of values")
        elif isinstance(value, list):
            raise ValueError(f"operator {op!r} takes one value, not a list")
        numeric = op in ("gt", "gte", "lt", "lte") or self.property in NUMERIC_COLUMNS
        values = value if isinstance(value, list) else [value]
        if numeric and any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
            raise ValueError(f"operator {op!r} on {self.property} needs a number")
        if self.property in NUMERIC_COLUMNS and op in ("contains", "not_contains", "regex"):
            raise ValueError(f"{self.property} is a number: use eq, in, gt, gte, lt, lte or is_set")
        if len(values) > MAX_VALUES:
            raise ValueError(f"operator {op!r} takes at most {MAX_VALUES} values, not {len(values)}")
        if any(isinstance(v, str) and len(v) > MAX_TEXT for v in values):
            raise ValueError(f"a filter value may have at most {MAX_TEXT} characters")
        if op == "regex":
            check_regex(str(value))
        return self

    def _cohorts_named(self) -> Filter:
        if self.operator not in _COHORT_OPERATORS:
            raise ValueError(f"cohort takes the operators {', '.join(_COHORT_OPERATORS)}, with cohort ids")
        values = self.value if isinstance(self.value, list) else [self.value]
        if self.operator in ("in", "not_in") and (not isinstance(self.value, list) or not values):
            raise ValueError(f"operator {self.operator!r} needs a non-empty list of cohort ids")
        if self.operator in ("eq", "neq") and isinstance(self.value, list):
            raise ValueError(f"operator {self.operator!r} takes one cohort id, not a list")
        if len(values) > MAX_VALUES or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**63 for v in values
        ):
            raise ValueError(f"cohort ids are positive whole numbers (at most {MAX_VALUES})")
        return self

    def cohort_ids(self) -> list[int]:
        """The cohorts a ``cohort`` filter names (none for any other filter)."""
        if self.property != COHORT:
            return []
        return [int(v) for v in (self.value if isinstance(self.value, list) else [self.value])]  # type: ignore[arg-type]

    def condition(self, params: Params, table: str | None = None) -> exp.Expr:
        op, value = self.operator, self.value
        if self.property.startswith(PERSON_PREFIX):
            return self._on_person(params, table)
        if self.property == COHORT:
            return self._in_cohort(params, table)
        if op in ("gt", "gte", "lt", "lte"):
            number = number_field(self.property, params, table)
            compare = {"gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[op]
            return compare(this=number, expression=params.bind(float(value)))  # type: ignore[arg-type]
        if self.property in NUMERIC_COLUMNS:
            text: exp.Expr = col(self.property, table)
            bind: Any = float
        else:
            text, bind = text_field(self.property, params, table), _text
        if op == "is_set":
            return exp.Not(this=exp.Is(this=text, expression=exp.Null()))
        if op == "is_not_set":
            return exp.Is(this=text, expression=exp.Null())
        if op in ("in", "not_in"):
            assert isinstance(value, list)
            cond: exp.Expr = exp.In(this=text, expressions=[params.bind(bind(v)) for v in value])
        elif op in ("eq", "neq"):
            cond = exp.EQ(this=text, expression=params.bind(bind(value)))
        elif op in ("contains", "not_contains"):
            cond = fn("contains", text, params.bind(_text(value)))
        else:
            cond = fn("regex_match", text, params.bind(_text(value)))
        if op in ("neq", "not_in", "not_contains"):
            # A missing value is "not equal" too, as a person reading the filter would expect.
            return exp.Or(this=exp.Is(this=text.copy(), expression=exp.Null()), expression=exp.Not(this=cond))
        return cond

    def _on_person(self, params: Params, table: str | None) -> exp.Expr:
        """Events whose person has the trait: the person among those whose traits meet the condition
        (``persons``, scoped to the project like every table). "Is not", "does not contain", "is not set"
        hold for events whose person does not meet the positive condition, or who has no traits at all."""
        op = self.operator
        positive = _POSITIVE.get(op, op)
        trait = "properties." + self.property[len(PERSON_PREFIX) :]
        met = Filter(property=trait, operator=positive, value=self.value).condition(params, "p")
        people = exp.select(col("distinct_id", "p")).from_(exp.to_table("persons").as_("p")).where(met)
        member = exp.In(this=col("person_id", table), query=people.subquery())
        if op == positive:
            return member
        return exp.Not(this=exp.Coalesce(this=member, expressions=[exp.false()]))

    def _in_cohort(self, params: Params, table: str | None) -> exp.Expr:
        """Events whose person (through the alias links) is a member of the cohort(s): ``cohort_members``,
        scoped to the project like every table, so another project's cohort id matches nobody."""
        ids = [params.bind(i) for i in self.cohort_ids()]
        members = (
            exp.select(col("person_id", "cm"))
            .from_(exp.to_table("cohort_members").as_("cm"))
            .where(exp.In(this=col("cohort_id", "cm"), expressions=ids))
        )
        member = exp.In(this=col("person_id", table), query=members.subquery())
        if self.operator in ("eq", "in"):
            return member
        return exp.Not(this=exp.Coalesce(this=member, expressions=[exp.false()]))


_POSITIVE = {"neq": "eq", "not_in": "in", "not_contains": "contains", "is_not_set": "is_set"}
_ENGINE = duckdb.connect(":memory:", config=dict(LOCKED_DOWN))
_ENGINE_LOCK = threading.Lock()


def check_regex(pattern: str) -> None:
    """Refuse a pattern the engines' regular expressions (RE2: linear time, no backtracking) cannot
    compile, before a query is built: asked of DuckDB's own, so the rules are exactly the engine's."""
    try:
        with _ENGINE_LOCK:
            _ENGINE.execute("SELECT regexp_matches('', ?)", [pattern]).fetchall()
    except duckdb.Error as exc:
        raise ValueError(f"not a valid regular expression: {str(exc).splitlines()[0]}") from None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def conditions(filters: list[Filter], params: Params, table: str | None = None) -> list[exp.Expr]:
    return [f.condition(params, table) for f in filters]
