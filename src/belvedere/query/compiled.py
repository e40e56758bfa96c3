"""Statements compiled once and reused: the tree is built and printed the first time, then only the bound
values change (``compile_once`` for what the spec decides alone, ``compile_shaped`` for what is asked again
and again with new values). The project is always a bound value, never part of the text."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

from sqlglot import exp

from belvedere.query.cache import LruCache
from belvedere.query.sql import Params, QueryBuildError, compile_query
from belvedere.store.base import CompiledQuery, Dialect

# Compiled statements by what decides them alone (``compile_once``, ``compile_shaped``, ``compile_ranged``).
_COMPILED: LruCache[Hashable, Any] = LruCache(512)
# ``compile_ranged``'s mark for a statement that binds other instants than its range's ends.
_NOT_RANGED = "not ranged"


def compile_once(
    key: Hashable, build: Callable[[], tuple[exp.Expr, Params]], *, project_id: int, dialect: Dialect
) -> CompiledQuery:
    """``compile_query`` for a statement that ``key`` decides alone (with everything it binds): the tree is
    built and printed the first time, then taken from a cache. The project is a value, never part of the
    text, so a statement compiled for one project is scoped to whichever project is asked next."""
    compiled = _COMPILED.get((key, dialect))
    if compiled is None:
        tree, params = build()
        compiled = compile_query(tree, params=params, project_id=project_id, dialect=dialect)
        _COMPILED.put((key, dialect), compiled)
    values = dict(compiled.params)
    if "project" in values:
        values["project"] = project_id
    return CompiledQuery(
        sql=compiled.sql, params=values, dialect=dialect, timeout_seconds=compiled.timeout_seconds
    )


def compile_shaped(
    shape: Hashable,
    build: Callable[[Params], exp.Expr],
    slots: dict[str, Any],
    *,
    project_id: int,
    dialect: Dialect,
) -> CompiledQuery:
    """``compile_once`` for a statement that is asked again and again with new values (realtime, every few
    seconds): the tree is built and printed once per ``shape``, then only the values change.

    ``build`` binds the changing values with ``params.slot(name)`` from ``slots``, which keep their types
    from one call to the next; everything else it binds must be decided by ``shape`` alone."""
    reserved = [n for n in slots if n == "project" or (n[:1] == "p" and n[1:].isdigit())]
    if reserved:
        raise QueryBuildError(f"slot names {reserved} are taken by the compiler")

    def built() -> tuple[exp.Expr, Params]:
        params = Params(values=dict(slots))
        return build(params), params

    compiled = compile_once(
        ("shape", shape, tuple(sorted(slots))), built, project_id=project_id, dialect=dialect
    )
    values = {name: slots.get(name, value) for name, value in compiled.params.items()}
    return CompiledQuery(
        sql=compiled.sql, params=values, dialect=dialect, timeout_seconds=compiled.timeout_seconds
    )


def compile_ranged(
    key: Hashable,
    build: Callable[[], tuple[exp.Expr, Params]],
    *,
    start: datetime,
    end: datetime,
    project_id: int,
    dialect: Dialect,
) -> CompiledQuery:
    """``compile_once`` for a statement whose text its date range does not decide: ``key`` leaves the range
    out, and the range enters the statement only as the values bound for its ``start`` and ``end`` (no
    bucket, no time zone offset, no other instant). Built and printed the first time for any range; for
    another range, the values bound to the first one's ends take the new ends. So a period asked for the
    first time (a custom range, the previous period of stats) costs no Python building, and templates
    compiled when the server starts (``warm``) serve every period.

    A statement that binds any other instant (an instant computed from the range would keep the first
    range's) is kept for its own range only, as ``compile_once`` keeps it. The callers' kinds build no
    range-dependent text: tests/integration/query/test_compiled.py compiles them for ranges on both sides
    of a clock change."""
    template = _COMPILED.get(("ranged", key, dialect))
    if template == _NOT_RANGED:
        return compile_once((key, start, end), build, project_id=project_id, dialect=dialect)
    if template is None:
        tree, params = build()
        compiled = compile_query(tree, params=params, project_id=project_id, dialect=dialect)
        ends: dict[str, int] = {}
        for name, value in compiled.params.items():
            if isinstance(value, datetime):
                if value == start:
                    ends[name] = 0
                elif value == end:
                    ends[name] = 1
                else:
                    _COMPILED.put(((key, start, end), dialect), compiled)
                    _COMPILED.put(("ranged", key, dialect), _NOT_RANGED)
                    return compile_once((key, start, end), build, project_id=project_id, dialect=dialect)
        template = (compiled, ends)
        _COMPILED.put(("ranged", key, dialect), template)
    compiled, ends = template
    values = dict(compiled.params)
    for name, which in ends.items():
        values[name] = end if which else start
    if "project" in values:
        values["project"] = project_id
    return CompiledQuery(
        sql=compiled.sql, params=values, dialect=dialect, timeout_seconds=compiled.timeout_seconds
    )
