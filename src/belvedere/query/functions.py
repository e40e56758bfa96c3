"""Logical functions and how each engine spells them (``FUNCTIONS``): a query calls ``fn("quantile", x,
0.9)`` (``query.sql``), and the compiler swaps each call for its engine's form. A new engine gap is one entry
here."""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp

from belvedere.store.base import Dialect


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
