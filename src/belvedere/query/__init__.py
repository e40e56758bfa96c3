"""The query layer: typed insight specs, compiled to SQL scoped to one project, run and cached.

Importing this package registers every kind (``query.kinds``)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from belvedere.query import kinds as _kinds
from belvedere.query.runner import REGISTRY, QueryService, QuerySpec

__all__ = ["REGISTRY", "QueryService", "QuerySpec", "parse_query"]


def parse_query(body: dict[str, Any]) -> QuerySpec:
    """Validate a query body into its kind's spec; raises ``pydantic.ValidationError`` with the field."""
    kind = body.get("kind") if isinstance(body, dict) else None
    runner = REGISTRY.get(kind) if isinstance(kind, str) else None
    if runner is None:
        return TypeAdapter(_kinds.AnyQuery).validate_python(body)
    return runner.spec_model.model_validate(body)
