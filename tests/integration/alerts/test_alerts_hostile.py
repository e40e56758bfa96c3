"""Alerts and channels under bad input and bad receivers: clear refusals, deliveries that retry and give up,
private destinations refused, huge answers cut, plan limits; nothing stops the worker."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.integration.alerts.alerts_kit import Site, hour_start, settle, site
from tests.integration.platform.receiver_kit import receiving
from tests.waiting import eventually

RULE = {
    "name": "r",
    "series": {"event": "signup"},
    "interval": "hour",
    "condition": {"type": "threshold", "operator": "above", "value": 1},
    "enabled": False,
}


def _code(answer: Any) -> str:
    return str(answer.json()["error"]["code"])


@pytest.fixture
def s(tmp_path: Path) -> Iterator[Site]:
    with site(tmp_path) as made:
        made.send([("signup", hour_start(2))])
        yield made


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"series": {"event": "sign_up"}}, 422, "no 'sign_up' event in the last 90 days"),
        ({"condition": {"type": "threshold", "operator": "above", "value": 1e300}}, 422, "between"),
        ({"condition": {"type": "threshold", "operator": "sideways", "value": 1}}, 422, "operator"),
        ({"condition": {"type": "change", "direction": "down", "percent": 0}}, 422, "percent"),
        ({"condition": {"type": "prophecy"}}, 422, "type"),
        ({"series": {"stat": "bounce_rate"}, "condition": {"type": "anomaly"}}, 422, "counted series"),
        ({"interval": "week", "condition": {"type": "anomaly"}}, 422, "by hour or by day"),
        ({"interval": "2m"}, 422, "interval"),
        ({"pending_periods": 0}, 422, "pending_periods"),
        ({"resolve_value": 5}, 422, "resolve_value must be at or below the threshold"),
        ({"channels": [424242]}, 422, "no channel 424242 in this project"),
        ({"series": {"stat": "conversion_rate"}}, 422, "needs a goal"),
        ({"series": {"series": [{"event": "signup"}], "formula": "A / C"}}, 422, "'C' is not a series"),
        ({"series": {"event": "signup", "math": "sum"}}, 422, "needs a math_property"),
        (
            {"series": {"event": "signup", "filters": [{"property": "x; DROP", "value": 1}]}},
            422,
            "unknown field",
        ),
        ({"name": "x" * 201}, 422, "name"),
        ({"surprise": 1}, 422, "surprise"),
        ({"channels": [2**63]}, 422, "channels"),
        ({"escalation": {"after_minutes": 5, "channels": [2**63]}}, 422, "channels"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(
    s: Site, change: dict[str, Any], status: int, says: str
) -> None:
    answer = s.post("/alerts", {**RULE, **change})
    assert answer.status_code == status, answer.text
    assert says in answer.text
    assert s.get("/alerts").json()["results"] == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"type": "webhook", "name": "w", "url": "ftp://example.com/x"}, "http"),
        ({"type": "webhook", "name": "w", "url": "http://user:pw@example.com/"}, "user"),
        ({"type": "webhook", "name": "w", "url": "https://example.com/" + "a" * 2100}, "2,000"),
        ({"type": "webhook", "name": "w", "url": "https://example.com/", "secret": "short"}, "secret"),
        ({"type": "slack", "name": "s", "url": "javascript:alert(1)"}, "http"),
        ({"type": "email", "name": "e", "to": ["not an address"]}, "to"),
        ({"type": "email", "name": "e", "to": []}, "to"),
        ({"type": "pager", "name": "p"}, "type"),
    ],
)
def test_bad_channels_are_refused(s: Site, body: dict[str, Any], says: str) -> None:
    answer = s.post("/alert-channels", body)
    assert answer.status_code == 422, answer.text
    assert says in answer.text


def test_a_receiver_failing_twice_then_answering_gets_one_delivery_after_three_attempts(s: Site) -> None:
    with receiving(statuses=[500, 503]) as receiver:
        channel = s.post("/alert-channels", {"type": "webhook", "name": "w", "url": receiver.url}).json()
        sent = s.post(f"/alert-channels/{channel['id']}/test")
        assert sent.status_code == 202
        for wire in (1, 2, 3):
            assert eventually(lambda wire=wire: len(receiver.requests) == wire, timeout=10)  # type: ignore[misc]
            settle(s)
            s.clock.advance(hours=2)  # the retry falls due (backoff: at most an hour here)
        (job,) = s.app.runtime.jobs.list(name="notify.deliver")
        assert (job.status, job.attempts) == ("succeeded", 3)
        assert [a.outcome for a in (s.app.runtime.jobs.get(job.id) or job).history] == [
            "failed",
            "failed",
            "succeeded",
        ]
        assert len(receiver.unique("Belvedere-Delivery-Id")) == 1
        assert receiver.requests[0].json()["test"] is True


@contextmanager
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_a_receiver_that_never_answers_times_out_and_is_retried_later(s: Site) -> None:
    with silent_server() as url:
        channel = s.post("/alert-channels", {"type": "webhook", "name": "w", "url": url}).json()
        s.post(f"/alert-channels/{channel['id']}/test")
        settle(s, timeout=20)
        (job,) = s.app.runtime.jobs.list(name="notify.deliver")
        assert job.status == "failed" and job.attempts == 1 and job.run_at > s.clock()
        assert "DeliveryFailed" in (job.last_error or "")
        # The worker is still serving: a second delivery to a working receiver goes through.
        with receiving() as receiver:
            good = s.post("/alert-channels", {"type": "webhook", "name": "ok", "url": receiver.url}).json()
            s.post(f"/alert-channels/{good['id']}/test")
            assert eventually(lambda: len(receiver.requests) == 1, timeout=10)


def test_a_huge_answer_is_cut_and_the_delivery_counts_as_sent(s: Site) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Huge(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(800):
                    self.wfile.write(chunk)
            except OSError:
                pass  # the sender stopped reading

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Huge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/"
        channel = s.post("/alert-channels", {"type": "webhook", "name": "w", "url": url}).json()
        s.post(f"/alert-channels/{channel['id']}/test")
        settle(s, timeout=20)
        (job,) = s.app.runtime.jobs.list(name="notify.deliver")
        assert job.status == "succeeded", job.last_error
    finally:
        server.shutdown()
        server.server_close()


def test_private_destinations_are_refused_unless_allowed(tmp_path: Path) -> None:
    with site(tmp_path, outbound={"allow_private_networks": False}) as s, receiving() as receiver:
        channel = s.post("/alert-channels", {"type": "webhook", "name": "w", "url": receiver.url}).json()
        s.post(f"/alert-channels/{channel['id']}/test")
        settle(s)
        (job,) = s.app.runtime.jobs.list(name="notify.deliver")
        assert job.status == "dead" and job.attempts == 1  # no retry can make it public
        assert "private" in (job.last_error or "") or "loopback" in (job.last_error or "")
        assert "ALLOW_PRIVATE_NETWORKS" in (job.last_error or "")
        assert receiver.requests == []


def test_plan_features_and_the_rule_limit_are_enforced(tmp_path: Path) -> None:
    plans = {
        "free": {"rank": 1, "features": []},
        "small": {"rank": 2, "alert_rules": 1, "features": ["alerts"]},
        "big": {"rank": 3, "features": ["alerts", "webhooks"]},
    }
    settings = {"plans": plans, "auth": {"signup_plan": "free"}}
    with site(tmp_path / "a", plan="free", **settings) as free:
        refused = free.post("/alerts", RULE)
        assert refused.status_code == 403 and _code(refused) == "plan_feature"
        email = free.post("/alert-channels", {"type": "email", "name": "e", "to": ["a@b.test"]})
        assert email.status_code == 403 and "upgrade to small" in email.text
    with site(tmp_path / "b", plan="small", **settings) as small:
        small.send([("signup", hour_start(2))])
        assert small.post("/alerts", RULE).status_code == 201
        second = small.post("/alerts", {**RULE, "name": "another"})
        assert second.status_code == 403 and _code(second) == "plan_limit"
        hook = small.post("/alert-channels", {"type": "webhook", "name": "w", "url": "https://example.com/h"})
        assert hook.status_code == 403 and "webhooks" in hook.text


def test_viewers_read_but_do_not_change_and_other_projects_see_nothing(s: Site) -> None:
    rule = s.post("/alerts", RULE).json()
    assert s.get("/alerts", role="viewer").status_code == 200
    assert s.post("/alerts", {**RULE, "name": "v"}, role="viewer").status_code == 403
    assert s.post(f"/alerts/{rule['id']}/acknowledge", role="viewer").status_code == 403
    other = f"/api/v1/projects/{s.world.other_project_id}/alerts/{rule['id']}"
    assert s.client.get(other, headers=s.auth("outsider")).status_code == 404
    theirs = s.client.get(f"/api/v1/projects/{s.world.project_id}/alerts", headers=s.auth("outsider"))
    assert theirs.status_code == 404


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_moments_out_of_range_are_refused(s: Site, at: str) -> None:
    rule = s.post("/alerts", RULE).json()
    evaluated = s.post(f"/alerts/{rule['id']}/evaluate", {"at": at})
    assert evaluated.status_code == 422 and "between 1970 and 2999" in evaluated.text
    preview = s.post("/alerts/preview", {**RULE, "at": at})
    assert preview.status_code == 422 and "between 1970 and 2999" in preview.text
