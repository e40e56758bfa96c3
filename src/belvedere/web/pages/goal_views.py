"""Goals on the overview: a goal chosen by name (a saved goal's, or an event's) as the queries take it, and
the goals panel's rows under the names people gave them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from belvedere.accounts.settings import SavedGoal
from belvedere.query.kinds.goals import GoalsResult


def goal_query(goal: str, saved: Sequence[SavedGoal]) -> Any:
    """A saved goal's event or ``{"page": pattern}`` when ``goal`` names one, else ``goal`` as an event's
    name; None without a goal."""
    if not goal:
        return None
    found = next((g for g in saved if g.name == goal), None)
    if found is None:
        return goal
    return {"page": found.page} if found.page is not None else found.event


@dataclass(frozen=True)
class GoalLine:
    name: str  # what the row shows, and what choosing it puts in the URL
    people: int
    events: int
    conversion_rate: float | None
    revenue: float | None  # only for revenue goals


def goal_rows(result: GoalsResult, saved: Sequence[SavedGoal]) -> list[GoalLine]:
    """The panel's rows: with saved goals, each under its name (in the order saved); else every event."""
    rows = result.results
    if not saved:
        return [
            GoalLine(
                "Page view" if r.goal == "$pageview" else r.goal, r.people, r.events, r.conversion_rate, None
            )
            for r in rows
        ]
    by_key = {(r.page, r.goal): r for r in rows}
    out = []
    for g in saved:
        found = by_key.get((g.page is not None, g.page if g.page is not None else str(g.event)))
        if found is None:  # an event goal nobody reached in the period
            out.append(GoalLine(g.name, 0, 0, 0.0 if result.visitors else None, 0.0 if g.revenue else None))
            continue
        money = (found.revenue or 0.0) if g.revenue else None
        out.append(GoalLine(g.name, found.people, found.events, found.conversion_rate, money))
    return out
