"""Every insight kind, one module each; importing a module registers its runner, which declares the kind
(``query.runner.register``). The request and answer types below are made from that registry, so a new kind
is one new module listed here, and nothing else."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field, TypeAdapter

from belvedere.query.kinds import (  # noqa: F401 - each import registers a kind
    anomalies,
    breakdown,
    conversion_drivers,
    correlations,
    event_properties,
    events,
    forecast,
    funnel,
    goals,
    lifecycle,
    paths,
    patterns,
    realtime,
    retention,
    root_cause,
    sql,
    stats,
    stickiness,
    trends,
    usage,
    users,
)
from belvedere.query.runner import QueryResult, QuerySpec, result_models, spec_models

if TYPE_CHECKING:
    AnyQuery = QuerySpec
    AnyResult = QueryResult
else:
    # Discriminated by ``kind``: a body is checked against its own kind's model only, and the OpenAPI
    # schema lists every kind's request and answer.
    AnyQuery = Annotated[Union[tuple(spec_models())], Field(discriminator="kind")]  # noqa: UP007
    AnyResult = Annotated[Union[tuple(result_models())], Field(discriminator="kind")]  # noqa: UP007

QUERY: TypeAdapter[Any] = TypeAdapter(AnyQuery)


def parse_query(body: object) -> QuerySpec:
    """Validate a query body into its kind's spec; raises ``pydantic.ValidationError`` with the field."""
    spec: QuerySpec = QUERY.validate_python(body)
    return spec
