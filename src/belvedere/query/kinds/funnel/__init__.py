"""The funnel kinds: ``funnel`` (counts, ``counts``) and ``funnel_people`` (who, ``people``), both over
how far each person goes through the steps (``chains``). Importing the package registers both."""

from __future__ import annotations

from belvedere.query.kinds.funnel.counts import FunnelRunner
from belvedere.query.kinds.funnel.people import FunnelPeopleRunner
from belvedere.query.kinds.funnel.spec import (
    ConversionOverTime,
    Exclusion,
    FunnelBreakdown,
    FunnelPeopleQuery,
    FunnelPeopleResult,
    FunnelPerson,
    FunnelQuery,
    FunnelResult,
    FunnelStep,
    StepResult,
    TimeBin,
    TimeHistogram,
)

__all__ = [
    "ConversionOverTime",
    "Exclusion",
    "FunnelBreakdown",
    "FunnelPeopleQuery",
    "FunnelPeopleResult",
    "FunnelPeopleRunner",
    "FunnelPerson",
    "FunnelQuery",
    "FunnelResult",
    "FunnelRunner",
    "FunnelStep",
    "StepResult",
    "TimeBin",
    "TimeHistogram",
]
