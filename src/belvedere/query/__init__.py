"""The query layer: typed insight specs, compiled to SQL scoped to one project, run and cached.

Importing this package registers every kind (``query.kinds``)."""

from __future__ import annotations

from belvedere.query.kinds import parse_query
from belvedere.query.runner import REGISTRY, QueryResult, QueryService, QuerySpec

__all__ = ["REGISTRY", "QueryResult", "QueryService", "QuerySpec", "parse_query"]
