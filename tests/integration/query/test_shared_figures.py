"""Figures one kind computes and another needs (``DatedRunner.recall``): the goals panel divides by the
period's visitors, which the overview's key figures (stats) have just counted — for the same range,
filters and data only."""

from __future__ import annotations

from typing import Any

from tests.integration.query.events_kit import Analytics, analytics, event, pageview

from belvedere.query import QueryService, parse_query
from belvedere.query.cache import QueryCache

__all__ = ["analytics"]

DAY = {"date_from": "2025-03-10", "date_to": "2025-03-10"}
FIREFOX = [{"property": "browser", "operator": "eq", "value": "Firefox"}]


def _statements(analytics: Analytics, service: QueryService, *bodies: dict[str, Any]) -> list[dict[str, Any]]:
    answers = []
    for body in bodies:
        result = service.run(parse_query(body), project_id=1, timezone="UTC", now=analytics.now).as_dict()
        del result["meta"]
        answers.append(result)
    return answers


def test_goals_take_the_visitors_that_stats_counted_for_the_same_question(analytics: Analytics) -> None:
    analytics.add(
        pageview("2025-03-10T10:00:00", "/", person="ann", session="a", browser="Firefox"),
        pageview("2025-03-10T11:00:00", "/", person="bob", session="b", browser="Chrome"),
        event("signup", "2025-03-10T11:05:00", person="bob", session="b", browser="Chrome"),
    )
    goals = {"kind": "goals", **DAY}
    alone = {
        "all": _statements(analytics, QueryService(analytics.store), goals)[0],
        "firefox": _statements(analytics, QueryService(analytics.store), {**goals, "filters": FIREFOX})[0],
    }
    assert (alone["all"]["visitors"], alone["firefox"]["visitors"]) == (2, 1)

    service = QueryService(analytics.store)
    ran: list[str] = []
    fetch = analytics.store.fetch

    def spy(query: Any) -> Any:
        ran.append(query.sql)
        return fetch(query)

    analytics.store.fetch = spy  # type: ignore[method-assign]
    try:
        _, after_stats = _statements(analytics, service, {"kind": "stats", **DAY}, goals)
        assert after_stats == alone["all"]
        assert len(ran) == 2 + 1  # stats: the period and the previous one; goals: its events only
        # Other filters, another range or new data: counted again.
        filtered = _statements(analytics, service, {**goals, "filters": FIREFOX})[0]
        assert filtered == alone["firefox"] and len(ran) == 3 + 2
        analytics.add(pageview("2025-03-10T12:00:00", "/", person="cat", session="c", browser="Firefox"))
        assert _statements(analytics, service, goals)[0]["visitors"] == 3
    finally:
        del analytics.store.fetch

    # Nothing is shared where answers are not kept.
    uncached = QueryService(analytics.store, QueryCache(0))
    assert uncached.shared is None
