"""Values to and from chdb's text formats: bound parameters and literals in, typed result rows out.

A ClickHouse result comes back as JSONCompact; each column is converted by its declared type to the Python
value DuckDB returns for the same SQL (naive UTC datetimes, ints, floats, str, None, lists, dicts).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

# ---------------------------------------------------------------------- values in


def quote(text: str) -> str:
    """A ClickHouse string literal (for Belvedere's own text: paths, column structures)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def text_time(value: datetime) -> str:
    return _naive_utc(value).isoformat(sep=" ", timespec="microseconds")


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})


def param_text(value: Any) -> str:
    """A bound value as the text a ``{name:Type}`` placeholder parses: scalars in ClickHouse's escaped
    format, arrays and tuples as literals. chdb passes the text through unchanged."""
    if value is None:
        return "\\N"
    if isinstance(value, list | tuple):
        return _literal(value)
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    return _scalar_text(value)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return text_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot bind a value of type {type(value).__name__}")


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return "[" + ",".join(_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ",".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, str):
        return quote(value)
    text = _scalar_text(value)
    return text if isinstance(value, bool | int | float) else quote(text)


# ---------------------------------------------------------------------- values out

Convert = Callable[[Any], Any]


def result_rows(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """JSONCompact rows as tuples of the Python types DuckDB returns for the same SQL."""
    converters = [_converter(column["type"]) for column in body.get("meta", [])]
    data: list[list[Any]] = body.get("data", [])
    if all(c is _identity for c in converters):
        return [tuple(row) for row in data]
    return [tuple(c(v) for c, v in zip(converters, row, strict=True)) for row in data]


def _identity(value: Any) -> Any:
    return value


def _nullable(convert: Convert) -> Convert:
    return lambda v: None if v is None else convert(v)


def _to_float(value: Any) -> float | None:
    number = float(value)  # denormals come quoted: "nan", "inf", "-inf"
    return None if math.isnan(number) else number


def _to_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _split_args(inner: str) -> list[str]:
    """Top-level comma-separated arguments of a type, e.g. ``String, Array(Tuple(a UInt8, b String))``."""
    parts: list[str] = []
    depth, start, quoted = 0, 0, False
    for i, ch in enumerate(inner):
        if ch == "'" and (i == 0 or inner[i - 1] != "\\"):
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i].strip())
            start = i + 1
    parts.append(inner[start:].strip())
    return [p for p in parts if p]


def _converter(type_name: str) -> Convert:
    name = type_name.strip()
    head, _, rest = name.partition("(")
    args = _split_args(rest[:-1]) if rest else []
    if head in ("Nullable", "LowCardinality"):
        inner = _converter(args[0])
        return inner if inner is _identity else _nullable(inner)
    if head in ("DateTime", "DateTime64"):
        return _nullable(_to_datetime)
    if head in ("Date", "Date32"):
        return _nullable(date.fromisoformat)
    if head in ("Float32", "Float64", "BFloat16"):
        return _nullable(_to_float)
    if head.startswith(("Int", "UInt")):
        return _nullable(int)  # 64-bit and wider integers come quoted
    if head.startswith("Decimal"):
        return _nullable(Decimal)
    if head == "UUID":
        return _nullable(uuid.UUID)
    if head == "Nothing":
        return lambda v: None
    if head == "Array":
        item = _converter(args[0])
        return _identity if item is _identity else _nullable(lambda v: [item(x) for x in v])
    if head == "Map":
        key, value = _converter(args[0]), _converter(args[1])
        return _nullable(lambda v: {key(k): value(x) for k, x in v.items()})
    if head == "Tuple":
        return _tuple_converter(args)
    return _identity


def _tuple_converter(args: list[str]) -> Convert:
    named = [a.split(" ", 1) for a in args]
    if all(len(n) == 2 and not n[0].endswith(")") and "(" not in n[0] for n in named):
        fields = [(n[0].strip("`"), _converter(n[1])) for n in named]
        return _nullable(lambda v: {k: c(v[k]) for k, c in fields} if isinstance(v, dict) else v)
    items = [_converter(a) for a in args]
    return _nullable(lambda v: tuple(c(x) for c, x in zip(items, v, strict=True)))
