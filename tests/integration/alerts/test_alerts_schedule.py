"""Rules evaluated by the minute's tick on the server's own worker, and a firing alert nobody acknowledges
escalated to the next channel."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.integration.alerts.alerts_kit import settle, site
from tests.integration.platform.receiver_kit import receiving
from tests.waiting import eventually

from belvedere.alerts.buckets import last_complete
from belvedere.alerts.jobs import GRACE


def test_the_tick_evaluates_complete_buckets_and_escalates_an_unacknowledged_alert(tmp_path: Path) -> None:
    with site(tmp_path) as s, receiving() as first, receiving() as second:
        ops = s.post("/alert-channels", {"type": "webhook", "name": "Ops", "url": first.url}).json()
        boss = s.post("/alert-channels", {"type": "webhook", "name": "Boss", "url": second.url}).json()
        # The bucket the tick will read once the clock has moved three minutes on.
        start, end = last_complete("hour", ZoneInfo("UTC"), s.clock() + timedelta(minutes=3) - GRACE)
        s.send([("signup", start + timedelta(minutes=1)), ("signup", end - timedelta(minutes=1))])
        rule = s.post(
            "/alerts",
            {
                "name": "Any signup",
                "series": {"event": "signup"},
                "interval": "hour",
                "condition": {"type": "threshold", "operator": "above", "value": 0},
                "channels": [ops["id"]],
                "escalation": {"after_minutes": 30, "channels": [boss["id"]]},
            },
        ).json()
        s.clock.advance(minutes=3)  # the schedule's first tick falls due
        assert eventually(lambda: len(first.requests) == 1, timeout=15)
        settle(s)
        state = s.get(f"/alerts/{rule['id']}").json()
        assert (state["state"], state["last_value"], state["last_bucket"]) == (
            "firing",
            2.0,
            start.isoformat(),
        )
        assert first.requests[0].json()["bucket"]["start"] == start.isoformat()
        assert second.requests == []
        ticks = s.app.runtime.jobs.list(name="alerts.tick")
        evaluations = s.app.runtime.jobs.list(name="alerts.evaluate")
        assert ticks and all(j.status == "succeeded" for j in ticks)
        assert len(evaluations) == 1 and evaluations[0].queue == "store"

        s.clock.advance(minutes=31)  # not acknowledged within 30 minutes: the escalation channel is told
        assert eventually(lambda: len(second.requests) == 1, timeout=15)
        settle(s)
        escalated = second.requests[0].json()
        assert (escalated["kind"], escalated["state"]) == ("escalation", "firing")
        history = s.get(f"/alerts/{rule['id']}/history").json()["results"][::-1]  # oldest first
        # ok > firing, then the escalation (and, if the clock passed the top of the hour meanwhile, the new
        # hour's evaluation: no signup there, so resolved).
        assert [(h["kind"], h["to_state"]) for h in history[:2]] == [
            ("transition", "firing"),
            ("escalation", "firing"),
        ]
        assert [h["to_state"] for h in history[2:]] in ([], ["resolved"])
        s.clock.advance(minutes=31)
        settle(s)
        assert len(second.requests) == 1  # once per firing
