"""The questions and answers of the funnel kinds: ``funnel`` (how many people reach each step, by value,
over time, how long they take) and ``funnel_people`` (who they are)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from belvedere.query.dates import Interval
from belvedere.query.fields import (
    MAX_FILTERS,
    Filter,
    check_breakdown,
    check_breakdown_cohorts,
)
from belvedere.query.runner import DatedQuery, QueryResult

Order = Literal["ordered", "strict", "unordered"]
MAX_EXCLUSIONS = 10


class FunnelStep(BaseModel):
    event: str = Field(max_length=200)
    filters: list[Filter] = Field(default_factory=list, max_length=MAX_FILTERS)


class Exclusion(BaseModel):
    """An event that, done between two steps of a chain, spoils it from ``to_step`` on."""

    event: str = Field(max_length=200)
    filters: list[Filter] = Field(default_factory=list, max_length=MAX_FILTERS)
    from_step: int = Field(ge=1, le=19, description="The step after which the event spoils (1-based).")
    to_step: int = Field(ge=2, le=20, description="The step before which it spoils (after from_step).")

    @model_validator(mode="after")
    def _in_order(self) -> Exclusion:
        if self.to_step <= self.from_step:
            raise ValueError(f"to_step ({self.to_step}) must come after from_step ({self.from_step})")
        return self


class FunnelDefinition(DatedQuery):
    """What both funnel kinds ask: the steps, and how a person goes through them."""

    steps: list[FunnelStep] = Field(min_length=2, max_length=20)
    window: int = Field(14 * 86400, ge=1, le=366 * 86400, description="Seconds from step 1 to the last step.")
    order: Order = "ordered"
    exclusions: list[Exclusion] = Field(
        default_factory=list,
        max_length=MAX_EXCLUSIONS,
        description="Events that must not happen between two steps (ordered and strict funnels).",
    )

    @model_validator(mode="after")
    def _exclusions_fit(self) -> FunnelDefinition:
        n = len(self.steps)
        for i, excluded in enumerate(self.exclusions):
            if excluded.to_step > n:
                raise ValueError(f"exclusions.{i}: to_step {excluded.to_step} is past the last step ({n})")
            for step in self.steps[excluded.from_step - 1 : excluded.to_step]:
                if (step.event, step.filters) == (excluded.event, excluded.filters):
                    raise ValueError(
                        f"exclusions.{i}: {excluded.event!r} is also one of the steps it excludes between"
                    )
        if self.exclusions and self.order == "unordered":
            raise ValueError("exclusions need an ordered or strict funnel: an unordered one has no between")
        return self


class TimeToConvert(BaseModel):
    from_step: int = Field(1, ge=1, le=19)
    to_step: int | None = Field(None, ge=2, le=20, description="Default: the last step.")
    bins: int = Field(10, ge=1, le=60, description="At most this many bins (their width is rounded up).")


class FunnelQuery(FunnelDefinition):
    kind: Literal["funnel"] = "funnel"
    breakdown: str | None = Field(
        None,
        description="Split by this field of the person's first step-1 event, or `cohort`: the funnel of each"
        " cohort of `breakdown_cohorts`, over its members' events (a person in two cohorts counts in both).",
    )
    breakdown_limit: int = Field(10, ge=1, le=100)
    breakdown_cohorts: list[int] = Field(
        default_factory=list,
        max_length=10,
        description="With `breakdown: cohort`: the cohorts' ids (1 to 10).",
    )
    over_time: bool = Field(False, description="Conversion of the people who entered in each bucket.")
    time_to_convert: TimeToConvert | None = Field(None, description="A histogram of times between two steps.")

    _check_breakdown = field_validator("breakdown")(classmethod(lambda cls, v: check_breakdown(v)))

    @model_validator(mode="after")
    def _options_fit(self) -> FunnelQuery:
        check_breakdown_cohorts(self.breakdown, self.breakdown_cohorts)
        if self.over_time and self.interval == "hour":
            raise ValueError("conversion over time is by day, week or month, not by hour")
        histogram = self.time_to_convert
        if histogram is not None:
            if self.order == "unordered":
                raise ValueError(
                    "time_to_convert needs an ordered or strict funnel: unordered steps have no times"
                )
            to_step = histogram.to_step or len(self.steps)
            if to_step > len(self.steps) or to_step <= histogram.from_step:
                raise ValueError(
                    f"time_to_convert: to_step ({to_step}) must be after from_step ({histogram.from_step})"
                    f" and at most the last step ({len(self.steps)})"
                )
        return self


class StepResult(BaseModel):
    step: int
    event: str
    users: int
    conversion_rate: float | None = Field(description="% of step 1's people.")
    step_conversion_rate: float | None = Field(description="% of the previous step's people.")
    drop_off: int
    avg_time_to_convert: float | None = Field(description="Seconds from step 1 (ordered and strict).")
    median_time_to_convert: float | None


class FunnelBreakdown(BaseModel):
    value: Any
    steps: list[StepResult]


class ConversionOverTime(BaseModel):
    interval: Interval
    labels: list[str] = Field(description="Each bucket's start, in the project's time zone.")
    entered: list[int] = Field(description="People whose first step-1 event of the range is in the bucket.")
    converted: list[int] = Field(description="Of those, the people who reached the last step.")
    conversion_rate: list[float | None] = Field(description="converted as a % of entered (null: none).")


class TimeBin(BaseModel):
    start: int = Field(description="Seconds, inclusive.")
    end: int = Field(description="Seconds, exclusive.")
    people: int


class TimeHistogram(BaseModel):
    from_step: int
    to_step: int
    bin_seconds: int
    bins: list[TimeBin] = Field(description="From the shortest time's bin to the longest's, zero-filled.")


class FunnelResult(QueryResult):
    kind: Literal["funnel"] = "funnel"
    order: Order
    window: int
    steps: list[StepResult]
    breakdown: list[FunnelBreakdown] | None = Field(None, description="Only with a breakdown.")
    over_time: ConversionOverTime | None = Field(None, description="Only with over_time.")
    time_to_convert: TimeHistogram | None = Field(None, description="Only with time_to_convert.")


Status = Literal["converted", "dropped"]


class FunnelPeopleQuery(FunnelDefinition):
    kind: Literal["funnel_people"] = "funnel_people"
    step: int = Field(ge=1, le=20, description="The step whose people to list (1-based).")
    status: Status = Field(
        "converted", description="converted: reached the step; dropped: reached the one before, not it."
    )
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=100_000)

    @model_validator(mode="after")
    def _step_fits(self) -> FunnelPeopleQuery:
        if self.step > len(self.steps):
            raise ValueError(f"step {self.step} is past the last step ({len(self.steps)})")
        if self.status == "dropped" and self.step == 1:
            raise ValueError("nobody drops off before step 1: ask for step 2 or later")
        return self


class FunnelPerson(BaseModel):
    person_id: str
    time_to_convert: float | None = Field(
        description="Seconds from step 1 to the step (converted people of ordered and strict funnels)."
    )


class FunnelPeopleResult(QueryResult):
    kind: Literal["funnel_people"] = "funnel_people"
    step: int
    status: Status
    total: int = Field(description="How many people in all.")
    people: list[FunnelPerson] = Field(description="By person id.")
