"""The functions user SQL may call: a reviewed allowlist, never a blocklist.

Each entry was read against DuckDB's function list (``duckdb_functions()``) and kept only if it is

- pure: it reads nothing but its arguments (no files, settings, catalog, environment, other databases),
  and never turns text into SQL;
- scalar, aggregate or window: no table functions at all (``read_*``, ``query``, ``range``…);
- bounded: its result is not much larger than its arguments. Functions that make a large value from a small
  one are left out (``repeat``, ``lpad``/``rpad``, ``replace``, ``regexp_replace`` with back-references,
  ``printf``/``format`` widths, ``range``/``generate_series``, ``list_resize``), as are aggregates that
  gather every row into one value (``list``, ``array_agg``, ``string_agg``, ``histogram``).

The value beside each name is a sample argument list: sqlglot parses some names into typed expressions
(``lower`` → ``exp.Lower``), and the sample lets ``allowed_classes`` learn which class each name becomes.
A test prints every allowed class back as DuckDB and ClickHouse SQL so that a reviewer sees what runs.
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

_AGGREGATES = {
    "count": "x",
    "sum": "x",
    "avg": "x",
    "mean": "x",
    "min": "x",
    "max": "x",
    "median": "x",
    "mode": "x",
    "quantile_cont": "x, 0.5",
    "quantile_disc": "x, 0.5",
    "approx_count_distinct": "x",
    "approx_quantile": "x, 0.5",
    "arg_min": "x, y",
    "arg_max": "x, y",
    "min_by": "x, y",
    "max_by": "x, y",
    "first": "x",
    "last": "x",
    "any_value": "x",
    "bool_and": "x",
    "bool_or": "x",
    "count_if": "x",
    "stddev": "x",
    "stddev_pop": "x",
    "stddev_samp": "x",
    "variance": "x",
    "var_pop": "x",
    "var_samp": "x",
    "corr": "x, y",
    "covar_pop": "x, y",
    "covar_samp": "x, y",
}

_WINDOW = {
    "row_number": "",
    "rank": "",
    "dense_rank": "",
    "percent_rank": "",
    "cume_dist": "",
    "ntile": "4",
    "lag": "x, 1",
    "lead": "x, 1",
    "first_value": "x",
    "last_value": "x",
    "nth_value": "x, 2",
}

_NUMBERS = {
    "abs": "x",
    "ceil": "x",
    "ceiling": "x",
    "floor": "x",
    "round": "x, 2",
    "trunc": "x",
    "sqrt": "x",
    "cbrt": "x",
    "exp": "x",
    "ln": "x",
    "log": "x",
    "log2": "x",
    "log10": "x",
    "pow": "x, 2",
    "power": "x, 2",
    "sign": "x",
    "greatest": "x, y",
    "least": "x, y",
    "isnan": "x",
    "isinf": "x",
    "isfinite": "x",
    "pi": "",
    "radians": "x",
    "degrees": "x",
    "sin": "x",
    "cos": "x",
    "tan": "x",
    "asin": "x",
    "acos": "x",
    "atan": "x",
    "atan2": "x, y",
    "gcd": "x, y",
    "lcm": "x, y",
    "even": "x",
    "random": "",
}

_TEXT = {
    "lower": "x",
    "upper": "x",
    "lcase": "x",
    "ucase": "x",
    "length": "x",
    "char_length": "x",
    "strlen": "x",
    "substring": "x, 1, 2",
    "substr": "x, 1, 2",
    "left": "x, 2",
    "right": "x, 2",
    "trim": "x",
    "ltrim": "x",
    "rtrim": "x",
    "starts_with": "x, 'a'",
    "ends_with": "x, 'a'",
    "prefix": "x, 'a'",
    "suffix": "x, 'a'",
    "contains": "x, 'a'",
    "strpos": "x, 'a'",
    "instr": "x, 'a'",
    "split_part": "x, '/', 2",
    "concat": "x, y",
    "concat_ws": "'-', x, y",
    "reverse": "x",
    "ascii": "x",
    "md5": "x",
    "sha256": "x",
    "hash": "x",
    "regexp_matches": "x, 'a'",
    "regexp_full_match": "x, 'a'",
    "regexp_extract": "x, 'a', 1",
    "url_decode": "x",
}

_TIME = {
    "date_trunc": "'day', x",
    "date_part": "'hour', x",
    "datepart": "'hour', x",
    "date_diff": "'day', x, y",
    "datediff": "'day', x, y",
    "date_sub": "'day', x, y",
    "time_bucket": "INTERVAL 1 DAY, x",
    "year": "x",
    "quarter": "x",
    "month": "x",
    "week": "x",
    "weekofyear": "x",
    "day": "x",
    "dayofmonth": "x",
    "dayofweek": "x",
    "dayofyear": "x",
    "isodow": "x",
    "hour": "x",
    "minute": "x",
    "second": "x",
    "monthname": "x",
    "dayname": "x",
    "last_day": "x",
    "epoch": "x",
    "epoch_ms": "x",
    "to_timestamp": "x",
    "make_date": "x, y, z",
    "strftime": "x, '%Y'",
    "strptime": "x, '%Y'",
    "now": "",
    "today": "",
    "current_date": "",
    "get_current_timestamp": "",
    "timezone": "'UTC', x",
}

_JSON = {
    "json_extract": "x, '$.a'",
    "json_extract_string": "x, '$.a'",
    "json_extract_path": "x, '$.a'",
    "json_extract_path_text": "x, '$.a'",
    "json_value": "x, '$.a'",
    "json_type": "x",
    "json_valid": "x",
    "json_keys": "x",
    "json_array_length": "x",
    "json_exists": "x, '$.a'",
}

_OTHER = {
    "coalesce": "x, y",
    "ifnull": "x, y",
    "nullif": "x, y",
    "if": "x, y, z",
    "list_contains": "x, 1",
    "len": "x",
    "array_length": "x",
    "list_extract": "x, 1",
    "typeof": "x",
}

ALLOWED: dict[str, str] = {**_AGGREGATES, **_WINDOW, **_NUMBERS, **_TEXT, **_TIME, **_JSON, **_OTHER}

# Expressions sqlglot builds from SQL syntax rather than from a name (CAST, CASE, EXTRACT…): pure, bounded.
SYNTAX_FUNCTIONS: frozenset[type[exp.Expr]] = frozenset(
    {
        exp.Cast,
        exp.TryCast,
        exp.Case,
        exp.If,
        exp.Coalesce,
        exp.Extract,
        exp.AtTimeZone,
        exp.CurrentDate,
        exp.CurrentTimestamp,
        exp.JSONExtract,
        exp.JSONExtractScalar,
        exp.Count,
        exp.RegexpLike,
    }
)


def _parsed_call(name: str, args: str) -> exp.Expr:
    tree = sqlglot.parse_one(f"SELECT {name}({args})", read="duckdb", error_level=ErrorLevel.IGNORE)
    assert isinstance(tree, exp.Select)
    call: exp.Expr = tree.expressions[0]
    return call


@functools.cache
def allowed_classes() -> frozenset[type[exp.Expr]]:
    """The typed sqlglot expressions that the allowed names parse into, and the syntax ones."""
    classes = {type(_parsed_call(name, args)) for name, args in ALLOWED.items()}
    classes.discard(exp.Anonymous)
    return frozenset(classes | SYNTAX_FUNCTIONS)


@functools.cache
def allowed_anonymous() -> frozenset[str]:
    """The allowed names that sqlglot keeps as plain calls (``exp.Anonymous``), lower case."""
    return frozenset(
        name for name, args in ALLOWED.items() if isinstance(_parsed_call(name, args), exp.Anonymous)
    )
