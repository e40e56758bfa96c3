"""Statements compiled once and reused: the tree is built and printed the first time, then only the bound
values change (``compile_once`` for what the spec decides alone, ``compile_shaped`` for what is asked again
and again with new values). The project is always a bound value, never part of the text."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from sqlglot import exp

from belvedere.query.cache import LruCache
from belvedere.query.sql import Params, QueryBuildError, compile_query
from belvedere.store.base import CompiledQuery, Dialect

# Compiled statements by what decides them alone (``compile_once``, ``compile_shaped``).
_COMPILED: LruCache[Hashable, CompiledQuery] = LruCache(512)


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
