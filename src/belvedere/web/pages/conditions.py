"""The filter menu the analysis pages share: conditions live in the URL, so a filtered view can be bookmarked.

A condition is ``f=<field>|<operator>|<value>`` (repeatable; the value may itself hold ``|``). Several
"is" (or "is not") conditions on one field are one condition with several values: ``country is FR or DE``.
The overview's row clicks wrote ``path=/pricing`` before conditions had operators; that spelling is still
read. Every condition is checked as the query API checks a filter (field name, operator, value, regular
expression); one that fails is left out and said why, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from starlette.datastructures import QueryParams

from belvedere.query.fields import COHORT, FILTERABLE, NUMERIC_COLUMNS, Filter

MAX_CONDITIONS = 20
PARAM = "f"
# The fields people filter on most, by their name on the pages (any other field or property works too).
FIELD_LABELS = {
    "path": "Page",
    "event": "Event",
    "channel": "Channel",
    "referrer_domain": "Referrer",
    "utm_source": "UTM source",
    "utm_medium": "UTM medium",
    "utm_campaign": "UTM campaign",
    "country": "Country",
    "region": "Region",
    "city": "City",
    "browser": "Browser",
    "os": "OS",
    "device_type": "Device",
    "host": "Host",
    COHORT: "Cohort",
}
# "Is" on these fields is spelt ``?path=/pricing`` (as row clicks were before conditions had operators).
LEGACY = tuple(k for k in FIELD_LABELS if k not in ("event", "host", COHORT))
OPERATORS = {
    "eq": "is",
    "neq": "is not",
    "contains": "contains",
    "not_contains": "does not contain",
    "regex": "matches",
    "is_set": "is set",
    "is_not_set": "is not set",
    "gt": "is greater than",
    "lt": "is less than",
}
_VALUELESS = ("is_set", "is_not_set")
_GROUPED = {"eq": "in", "neq": "not_in"}
# A builder's one-off actions (add or remove a row, a partial reload) and a list's page: other
# conditions start again from the first page.
_ONCE = ("add", "remove", "partial", "page", "page_no")  # several values of one field: one condition


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    operator: str
    value: str = ""

    @property
    def param(self) -> str:
        return f"{self.field}|{self.operator}|{self.value}"

    @property
    def text(self) -> str:
        """As people read it: "Page is /pricing", "properties.plan is set"."""
        name = FIELD_LABELS.get(self.field, self.field)
        shown = "" if self.operator in _VALUELESS else f" {self.value}"
        return f"{name} {OPERATORS[self.operator]}{shown}"

    def named(self, cohorts: Mapping[int, str]) -> str:
        """The text, a cohort's number given with its name ("Cohort is Power users (no. 7)")."""
        if self.field != COHORT or not self.value.isdigit() or int(self.value) not in cohorts:
            return self.text
        name = cohorts[int(self.value)]
        return f"{FIELD_LABELS[COHORT]} {OPERATORS[self.operator]} {name} (no. {self.value})"

    def filter(self) -> dict[str, Any]:
        if self.operator in _VALUELESS:
            return {"property": self.field, "operator": self.operator}
        if self.field == COHORT:  # a cohort's number, as its page shows it
            value: Any = int(self.value) if self.value.isdigit() else self.value
            return {"property": self.field, "operator": self.operator, "value": value}
        numeric = self.operator in ("gt", "lt") or self.field in NUMERIC_COLUMNS
        return {
            "property": self.field,
            "operator": self.operator,
            "value": _number(self.value) if numeric else self.value,
        }


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text  # refused by the check, with the reason


@dataclass(frozen=True, slots=True)
class Conditions:
    """The page's conditions, and the ones refused (each with the reason, to show)."""

    kept: tuple[Condition, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()
    legacy: bool = True  # whether "is" on a common field is spelt ``path=…`` (not on pages using those names)

    def params(self) -> list[tuple[str, str]]:
        """As URL parameters: ``path=/pricing`` for "is" on a common field (as the overview always wrote
        a row click), ``f=…`` for the rest."""
        return [
            (c.field, c.value)
            if self.legacy and c.operator == "eq" and c.field in LEGACY
            else (PARAM, c.param)
            for c in self.kept
        ]

    def refusing(self, refused: Callable[[Condition], str | None]) -> Conditions:
        """These conditions with those ``refused`` gives a reason for moved to the refused ones."""
        reasons = [(c, refused(c)) for c in self.kept]
        return Conditions(
            tuple(c for c, why in reasons if why is None),
            (*self.refused, *((c.param, why) for c, why in reasons if why is not None)),
            self.legacy,
        )

    def cohort_ids(self) -> set[int]:
        """The cohorts the conditions name."""
        return {int(c.value) for c in self.kept if c.field == COHORT and c.value.isdigit()}

    def without(self, condition: Condition) -> Conditions:
        return Conditions(tuple(c for c in self.kept if c != condition), legacy=self.legacy)

    def adding(self, condition: Condition) -> Conditions:
        if condition in self.kept:
            return self
        return Conditions((*self.kept, condition), legacy=self.legacy)

    def filters(self) -> list[dict[str, Any]]:
        """As the query API's ``filters``: one per field and operator for "is" / "is not" (their values
        together, "in" / "not in"), one per condition otherwise; all must hold."""
        grouped: dict[tuple[str, str], list[Any]] = {}
        out: list[dict[str, Any]] = []
        for c in self.kept:
            if c.operator in _GROUPED and c.field not in NUMERIC_COLUMNS:
                values = grouped.setdefault((c.field, c.operator), [])
                if not values:
                    out.append({"property": c.field, "operator": c.operator, "values": values})
                values.append(c.filter()["value"])
            else:
                out.append(c.filter())
        for item in out:
            if "values" in item:
                values = item.pop("values")
                if len(values) > 1:
                    item["operator"] = _GROUPED[item["operator"]]
                item["value"] = values if len(values) > 1 else values[0]
        return out


def parse(params: QueryParams, *, legacy: bool = True) -> Conditions:
    """The conditions of a page's URL: ``f`` parameters, the overview's older ``<field>=<value>`` (unless
    the page uses those names for itself: ``legacy=False``), and a condition being added from the menu
    (``nf_field``, ``nf_op``, ``nf_value``; several values of "is" separated by commas)."""
    found: list[Condition] = []
    for key in LEGACY if legacy else ():
        found += [Condition(key, "eq", v) for v in params.getlist(key) if v]
    for raw in params.getlist(PARAM):
        field, _, rest = raw.partition("|")
        operator, _, value = rest.partition("|")
        found.append(Condition(field.strip(), operator.strip(), value))
    found += _added(params)
    kept: list[Condition] = []
    refused: list[tuple[str, str]] = []
    for condition in found:
        reason = check(condition)
        if reason is not None:
            refused.append((condition.param, reason))
        elif condition not in kept:
            kept.append(condition)
    if len(kept) > MAX_CONDITIONS:
        refused.append(
            ("", f"at most {MAX_CONDITIONS} filters: the ones after the first {MAX_CONDITIONS} are left out")
        )
        kept = kept[:MAX_CONDITIONS]
    return Conditions(tuple(kept), tuple(refused), legacy)


def _added(params: QueryParams) -> list[Condition]:
    field = params.get("nf_field", "").strip()
    if not field:
        return []
    operator = params.get("nf_op", "eq")
    value = params.get("nf_value", "").strip()
    if operator in _VALUELESS:
        return [Condition(field, operator)]
    if operator in _GROUPED:
        values = [v.strip() for v in value.split(",") if v.strip()]
        return [Condition(field, operator, v) for v in values] or [Condition(field, operator, "")]
    return [Condition(field, operator, value)]


def check(condition: Condition) -> str | None:
    if condition.operator not in OPERATORS:
        return f"unknown operator {condition.operator!r}: use one of {', '.join(OPERATORS)}"
    if condition.operator not in _VALUELESS and not condition.value:
        return f"{condition.text.strip()}: the condition needs a value"
    try:
        Filter.model_validate(condition.filter())
    except ValidationError as exc:
        return _reason(exc)
    return None


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return str(first["msg"]).removeprefix("Value error, ")


def menu(
    conditions: Conditions,
    link: Callable[[Conditions], str],
    params: QueryParams,
    cohorts: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """What the filter menu (``_filters.html``) shows: the conditions, each with the link that removes it
    (``link(conditions)``: the page's URL with those conditions instead), the refused ones with why, the
    fields to suggest, and the page's other parameters, which adding a condition keeps. ``cohorts``: the
    names of the cohorts the conditions name, by number."""
    hidden = _others(params, conditions.legacy)
    return {
        "active": [(c.named(cohorts or {}), link(conditions.without(c))) for c in conditions.kept],
        "refused": list(conditions.refused),
        "hidden": [*hidden, *conditions.params()],
        "fields": sorted(FILTERABLE),
        "labels": FIELD_LABELS,
        "operators": OPERATORS,
    }


def _others(params: QueryParams, legacy: bool) -> list[tuple[str, str]]:
    """A page's parameters that are not conditions (nor a condition being added)."""
    return [
        (k, v)
        for k, v in params.multi_items()
        if k != PARAM and not k.startswith("nf_") and k not in _ONCE and not (legacy and k in LEGACY)
    ]


def page_link(params: QueryParams, legacy: bool = True) -> Callable[[Conditions], str]:
    """The page's URL query with other conditions, all else kept."""
    others = _others(params, legacy)
    return lambda kept: "?" + urlencode([*others, *kept.params()])


def value_text(value: Any) -> str:
    """A filter's value as the menu writes it (``3.0`` as ``3``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def from_filters(filters: list[dict[str, Any]], *, legacy: bool = True) -> Conditions | None:
    """A saved question's filters as the menu's conditions (in / not in: one per value); None when one
    has an operator the menu does not offer."""
    kept: list[Condition] = []
    for f in filters:
        op, value = f.get("operator", "eq"), f.get("value")
        if op in ("in", "not_in"):
            kept += [
                Condition(f["property"], "eq" if op == "in" else "neq", value_text(v)) for v in value or []
            ]
        elif op in OPERATORS:
            kept.append(Condition(f["property"], op, value_text(value)))
        else:
            return None
    return Conditions(tuple(kept), legacy=legacy)
