"""funnel's exclusions, conversion over time and time-to-convert histogram, and funnel_people, on small
literal examples (each on DuckDB and ClickHouse); the property suite compares them with a reference."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.capture_kit import Running, running
from tests.integration.query.events_kit import Analytics, analytics, event

from belvedere.config import Settings

__all__ = ["analytics"]

MARCH = {"date_from": "2025-03-01", "date_to": "2025-03-31"}
STEPS = [{"event": "view"}, {"event": "cart"}, {"event": "buy"}]


def _shop(analytics: Analytics) -> None:
    analytics.add(
        # a: view, cart, buy within 10 minutes, nothing in between
        event("view", "2025-03-03T10:00:00", person="a"),
        event("cart", "2025-03-03T10:05:00", person="a"),
        event("buy", "2025-03-03T10:10:00", person="a"),
        # b: view, cart, a "coupon_error" before buying
        event("view", "2025-03-04T10:00:00", person="b"),
        event("cart", "2025-03-04T11:00:00", person="b"),
        event("coupon_error", "2025-03-04T11:30:00", person="b"),
        event("buy", "2025-03-04T12:00:00", person="b"),
        # c: view, a "coupon_error", cart, buy a day later
        event("view", "2025-03-12T09:00:00", person="c"),
        event("coupon_error", "2025-03-12T09:01:00", person="c"),
        event("cart", "2025-03-12T09:02:00", person="c"),
        event("buy", "2025-03-13T09:00:00", person="c"),
        # d: only views; e: view and cart
        event("view", "2025-03-12T10:00:00", person="d"),
        event("view", "2025-03-20T10:00:00", person="e"),
        event("cart", "2025-03-20T10:00:30", person="e"),
    )


def _funnel(analytics: Analytics, **extra: Any) -> dict[str, Any]:
    return analytics.query({"kind": "funnel", **MARCH, "steps": STEPS, **extra})


def _users(result: dict[str, Any]) -> list[int]:
    return [s["users"] for s in result["steps"]]


def test_an_exclusion_spoils_the_chain_from_its_to_step_on(analytics: Analytics) -> None:
    _shop(analytics)
    assert _users(_funnel(analytics)) == [5, 4, 3]
    coupon = {"event": "coupon_error"}
    # Between cart and buy: b does not count as buying; c's error came before the cart.
    assert _users(_funnel(analytics, exclusions=[{**coupon, "from_step": 2, "to_step": 3}])) == [5, 4, 2]
    # Between view and buy: b and c both stop at the step before the error.
    assert _users(_funnel(analytics, exclusions=[{**coupon, "from_step": 1, "to_step": 3}])) == [5, 3, 1]
    # Between view and cart: only c (b's error came after its cart).
    assert _users(_funnel(analytics, exclusions=[{**coupon, "from_step": 1, "to_step": 2}])) == [5, 3, 2]


def test_an_exclusion_with_a_filter_and_a_strict_funnel(analytics: Analytics) -> None:
    _shop(analytics)
    analytics.add(event("coupon_error", "2025-03-03T10:07:00", person="a", properties={"code": "X"}))
    x_only = {"event": "coupon_error", "filters": [{"property": "properties.code", "value": "X"}]}
    assert _users(_funnel(analytics, exclusions=[{**x_only, "from_step": 2, "to_step": 3}])) == [5, 4, 2]
    # Strict: a's and b's errors already break the chains; the exclusion changes nothing more.
    strict = _funnel(analytics, order="strict", exclusions=[{**x_only, "from_step": 1, "to_step": 3}])
    assert _users(strict) == _users(_funnel(analytics, order="strict")) == [5, 3, 0]


def test_conversion_over_time_by_the_week_people_entered(analytics: Analytics) -> None:
    _shop(analytics)
    r = _funnel(analytics, over_time=True, interval="week")
    assert r["over_time"] == {
        "interval": "week",
        "labels": ["2025-02-24", "2025-03-03", "2025-03-10", "2025-03-17", "2025-03-24", "2025-03-31"],
        "entered": [0, 2, 2, 1, 0, 0],
        "converted": [0, 2, 1, 0, 0, 0],
        "conversion_rate": [None, 100.0, 50.0, 0.0, None, None],
    }
    daily = _funnel(analytics, over_time=True)["over_time"]
    assert len(daily["labels"]) == 31 and daily["entered"][11] == 2 and daily["converted"][11] == 1


def test_time_to_convert_histogram(analytics: Analytics) -> None:
    _shop(analytics)
    # view → buy: a 600 s, b 7,200 s, c 86,400 s: 10 bins need a 3-hour width (0 … 86,400 s)
    r = _funnel(analytics, time_to_convert={"from_step": 1, "to_step": 3, "bins": 10})["time_to_convert"]
    assert r["bin_seconds"] == 10800
    assert [(b["start"], b["people"]) for b in r["bins"]] == [
        (0, 2),
        (10800, 0),
        (21600, 0),
        (32400, 0),
        (43200, 0),
        (54000, 0),
        (64800, 0),
        (75600, 0),
        (86400, 1),
    ]
    # view → cart: a 300 s, b 3,600 s, c 120 s, e 30 s; cart → buy (the default last step): a 300 s,
    # b 3,600 s, c 86,280 s.
    short = _funnel(analytics, time_to_convert={"to_step": 2, "bins": 4})["time_to_convert"]
    assert (short["bin_seconds"], [b["people"] for b in short["bins"]]) == (1800, [3, 0, 1])
    last = _funnel(analytics, time_to_convert={"from_step": 2, "bins": 60})["time_to_convert"]
    assert last["bin_seconds"] == 1800 and last["to_step"] == 3
    assert sum(b["people"] for b in last["bins"]) == 3 and last["bins"][0] == {
        "start": 0,
        "end": 1800,
        "people": 1,
    }
    nobody = _funnel(analytics, date_to="2025-03-02", time_to_convert={})["time_to_convert"]
    assert nobody == {"from_step": 1, "to_step": 3, "bin_seconds": 1, "bins": []}


def _people(analytics: Analytics, step: int, status: str = "converted", **extra: Any) -> dict[str, Any]:
    spec = {"kind": "funnel_people", **MARCH, "steps": STEPS, "step": step, "status": status, **extra}
    r = analytics.query(spec)
    return {"total": r["total"], "people": [(p["person_id"], p["time_to_convert"]) for p in r["people"]]}


def test_funnel_people_who_converted_and_who_dropped_off(analytics: Analytics) -> None:
    _shop(analytics)
    assert _people(analytics, 1) == {
        "total": 5,
        "people": [("a", None), ("b", None), ("c", None), ("d", None), ("e", None)],
    }
    assert _people(analytics, 3) == {"total": 3, "people": [("a", 600.0), ("b", 7200.0), ("c", 86400.0)]}
    assert _people(analytics, 2, "dropped") == {"total": 1, "people": [("d", None)]}
    assert _people(analytics, 3, "dropped") == {"total": 1, "people": [("e", None)]}
    assert _people(analytics, 3, limit=2, offset=1) == {"total": 3, "people": [("b", 7200.0), ("c", 86400.0)]}
    assert _people(analytics, 3, offset=5) == {"total": 3, "people": []}
    coupon = [{"event": "coupon_error", "from_step": 2, "to_step": 3}]
    assert _people(analytics, 3, "dropped", exclusions=coupon)["people"] == [("b", None), ("e", None)]
    assert _people(analytics, 2, order="unordered")["people"][0] == ("a", None)


@pytest.fixture
def app(settings: Settings) -> Iterator[Running]:
    with running(settings) as r:
        yield r


def test_bad_funnel_options_get_a_clear_422(app: Running) -> None:
    steps = [{"event": "a"}, {"event": "b"}, {"event": "c"}]
    excluded = {"event": "x", "from_step": 1, "to_step": 2}
    cases = [
        ({"exclusions": [{**excluded, "to_step": 4}]}, "past the last step"),
        ({"exclusions": [{**excluded, "from_step": 2}]}, "must come after from_step"),
        ({"exclusions": [{**excluded, "event": "b"}]}, "also one of the steps"),
        ({"exclusions": [excluded] * 11}, "at most 10"),
        ({"exclusions": [excluded], "order": "unordered"}, "ordered or strict"),
        ({"over_time": True, "interval": "hour"}, "day, week or month"),
        ({"time_to_convert": {"from_step": 3}}, "must be after from_step"),
        ({"time_to_convert": {"bins": 61}}, "bins"),
        ({"time_to_convert": {}, "order": "unordered"}, "no times"),
        ({"kind": "funnel_people", "step": 4}, "past the last step"),
        ({"kind": "funnel_people", "step": 1, "status": "dropped"}, "step 2 or later"),
        ({"kind": "funnel_people", "step": 2, "limit": 501}, "limit"),
        ({"kind": "funnel_people"}, "step"),
    ]
    url = f"/api/v1/projects/{app.project.project.id}/query"
    for extra, expected in cases:
        body = {"kind": "funnel", "steps": steps, **extra}
        response = app.client.post(url, json=body, headers=app.read_auth())
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] == "invalid_request"
        assert expected in response.text, (body, response.text)
