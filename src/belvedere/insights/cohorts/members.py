"""Who is in a cohort now: each definition's people as the alias links resolve them, sorted, each once.

The statements go through the scoping compiler like every query, so a cohort reads its own project only.
A rule that finds more than ``MAX_MEMBERS`` people raises ``TooManyMembers`` rather than keep an arbitrary
part of them: a cut cohort would make every filter on it quietly wrong."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlglot import exp

from belvedere.insights.cohorts.rules import MAX_MEMBERS, BehaviourRule, PatternRule, StaticList
from belvedere.query.fields import conditions
from belvedere.query.kinds.patterns import PatternsRunner
from belvedere.query.runner import QueryContext, QueryStore
from belvedere.query.sql import Params, col, compile_query

# Each statement of a computation may run this long (it runs in the background, on the store queue).
STATEMENT_SECONDS = 120.0
_LOOKUP_CHUNK = 500


class TooManyMembers(ValueError):
    """The rule holds more people than a cohort may."""


def members(
    definition: BehaviourRule | PatternRule | StaticList,
    *,
    store: QueryStore,
    project_id: int,
    timezone: str,
    now: datetime,
) -> list[str]:
    """The cohort's people at ``now`` (naive UTC)."""
    if isinstance(definition, StaticList):
        found = resolve(store, project_id, definition.ids)
    elif isinstance(definition, PatternRule):
        found = _pattern(definition, store, project_id, timezone, now)
    else:
        found = _behaviour(definition, store, project_id, now)
    if len(found) > MAX_MEMBERS:
        raise TooManyMembers(
            f"the rule holds more than {MAX_MEMBERS:,} people:"
            " narrow it (a rarer event, more times, fewer days)"
        )
    return found


def _behaviour(rule: BehaviourRule, store: QueryStore, project_id: int, now: datetime) -> list[str]:
    params = Params()
    where = [
        exp.Not(this=exp.Is(this=col("person_id"), expression=exp.Null())),
        exp.GTE(this=col("timestamp"), expression=params.bind(now - timedelta(days=rule.days))),
        exp.LT(this=col("timestamp"), expression=params.bind(now)),
        *conditions(rule.filters, params),
    ]
    if rule.event is not None:
        where.append(exp.EQ(this=col("event"), expression=params.bind(rule.event)))
    tree = (
        exp.select(col("person_id"))
        .from_("events")
        .where(exp.and_(*where))
        .group_by(col("person_id"))
        .having(exp.GTE(this=exp.Count(this=exp.Star()), expression=params.bind(rule.min_count)))
        .limit(MAX_MEMBERS + 1)
    )
    compiled = compile_query(
        tree, params=params, project_id=project_id, dialect=store.dialect, timeout_seconds=STATEMENT_SECONDS
    )
    return sorted({str(person) for (person,) in store.fetch(compiled)})


def _pattern(
    rule: PatternRule, store: QueryStore, project_id: int, timezone: str, now: datetime
) -> list[str]:
    # Every person of the pattern, not a sample: one more than a cohort may hold tells there are too many.
    spec = rule.query.model_copy(update={"sample": MAX_MEMBERS + 1})
    ctx = QueryContext(project_id=project_id, timezone=timezone, store=store, now=now, background=True)
    result = PatternsRunner(spec, ctx).calculate()
    return resolve(store, project_id, [p.person for p in result.people])


def resolve(store: QueryStore, project_id: int, ids: list[str]) -> list[str]:
    """The people the ids stand for: an alias counts as the person it is linked to."""
    unique = sorted(set(ids))
    linked: dict[str, str] = {}
    for start in range(0, len(unique), _LOOKUP_CHUNK):
        params = Params()
        chunk = [params.bind(i) for i in unique[start : start + _LOOKUP_CHUNK]]
        tree = (
            exp.select(col("alias"), col("person_id"))
            .from_("person_aliases")
            .where(exp.In(this=col("alias"), expressions=chunk))
        )
        compiled = compile_query(
            tree,
            params=params,
            project_id=project_id,
            dialect=store.dialect,
            timeout_seconds=STATEMENT_SECONDS,
        )
        linked.update((str(alias), str(person)) for alias, person in store.fetch(compiled))
    return sorted({linked.get(i, i) for i in unique})
