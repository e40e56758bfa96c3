"""Every insight kind, one module each; importing a module registers its runner."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from belvedere.query.kinds.breakdown import BreakdownQuery
from belvedere.query.kinds.event_properties import EventPropertiesQuery
from belvedere.query.kinds.funnel import FunnelQuery
from belvedere.query.kinds.lifecycle import LifecycleQuery
from belvedere.query.kinds.paths import PathsQuery
from belvedere.query.kinds.realtime import RealtimeQuery
from belvedere.query.kinds.retention import RetentionQuery
from belvedere.query.kinds.sql import SqlQuery
from belvedere.query.kinds.stats import StatsQuery
from belvedere.query.kinds.trends import TrendsQuery
from belvedere.query.kinds.usage import UsageQuery
from belvedere.query.kinds.users import UserQuery, UsersQuery

AnyQuery = Annotated[
    StatsQuery
    | TrendsQuery
    | BreakdownQuery
    | FunnelQuery
    | RetentionQuery
    | PathsQuery
    | LifecycleQuery
    | UsageQuery
    | UsersQuery
    | UserQuery
    | RealtimeQuery
    | EventPropertiesQuery
    | SqlQuery,
    Field(discriminator="kind"),
]
