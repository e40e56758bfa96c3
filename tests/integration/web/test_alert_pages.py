"""The alert pages over a running app: channels (add, test, the webhook secret once), a template previewed
and created, the editor's preview and its refusals, an alert evaluated, acknowledged, muted and deleted,
and the bell's notifications."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

from tests.integration.alerts.alerts_kit import Site, hour_start, settle, site
from tests.integration.mail_kit import smtp_server
from tests.waiting import eventually


def _page(s: Site, path: str = "") -> str:
    answer = s.client.get(f"/app/projects/{s.world.project_id}/alerts{path}", headers=s.auth())
    assert answer.status_code == 200, answer.text
    return str(answer.text)


def _post(s: Site, path: str, data: dict[str, object] | None = None, status: int = 200) -> str:
    url = f"/app/projects/{s.world.project_id}/alerts{path}"
    answer = s.client.post(url, data=data or {}, headers={**s.auth(), "HX-Request": "true"})
    assert answer.status_code == status, answer.text
    return str(answer.headers.get("HX-Redirect") or answer.text)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_channels_templates_and_an_alert_from_firing_to_resolved(tmp_path: Path) -> None:
    with (
        smtp_server() as (inbox, port),
        site(tmp_path, mail={"smtp_host": "127.0.0.1", "smtp_port": port}) as s,
    ):
        empty = _text(_page(s))
        assert "No alert yet" in empty and "Overdue payments (PropManager)" in empty

        added = _text(_post(s, "/channels", {"type": "email", "name": "Ops", "to": "ops@example.test"}))
        assert "Channel 'Ops' added" in added
        channel = s.client.get(s.url("/alert-channels"), headers=s.auth()).json()["results"][0]
        tested = _post(s, f"/channels/{channel['id']}/test")
        assert "Test: Queued" in _text(tested)
        delivery = re.search(r"/channels/deliveries/(\d+)", tested)
        assert delivery
        assert eventually(lambda: len(inbox.to("ops@example.test")) == 1, timeout=10)
        settle(s)
        sent = s.client.get(
            f"/app/projects/{s.world.project_id}/alerts/channels/deliveries/{delivery.group(1)}",
            headers=s.auth(),
        )
        assert sent.status_code == 286 and "Test: Sent after 1 attempt" in _text(sent.text)

        hook = _text(
            _post(s, "/channels", {"type": "webhook", "name": "Hook", "url": "http://127.0.0.1:9/x"})
        )
        assert "The signing secret of Hook" in hook and "never shown again" in hook
        assert "The signing secret" not in _text(_page(s, "/channels"))  # once
        refused = _text(_post(s, "/channels", {"type": "email", "name": "Bad", "to": "not an address"}, 422))
        assert "to" in refused and "string should match pattern" in refused.lower()

        # Breaching events yesterday (UTC, the project's zone); the template's preview marks where it would
        # have fired.
        base = hour_start(0).replace(hour=9) - timedelta(days=1)
        s.send(
            [
                ("payment_overdue", base + timedelta(minutes=5)),
                ("payment_overdue", base + timedelta(minutes=9)),
            ]
        )
        unknown = _text(_post(s, "/templates/preview", {"template": "overdue_payments", "p_event": "nope"}))
        assert "received no 'nope' event" in unknown
        nope = _text(_post(s, "/templates", {"template": "nope"}, 422))
        assert "no template 'nope': one of traffic_drop" in nope
        preview = _text(_post(s, "/templates/preview", {"template": "overdue_payments"}))
        assert "Would have fired 1 time over the last 14 complete days" in preview

        created = _post(
            s, "/templates", {"template": "overdue_payments", "channels": str(channel["id"])}, 204
        )
        rule_id = int(created.rsplit("/", 1)[1].split("?")[0])
        listed = _text(_page(s))
        assert "Overdue payments" in listed and "not evaluated yet" in listed

        # Evaluated as of the end of the day holding them: firing, then acknowledged, then resolved.
        at = (base + timedelta(days=1)).replace(hour=0).isoformat()
        s.post(f"/alerts/{rule_id}/evaluate", {"at": at})
        detail = _text(_page(s, f"/{rule_id}"))
        assert "Firing" in detail and "OK → Firing" in detail and "Acknowledge" in detail
        acked = _text(_post(s, f"/{rule_id}/acknowledge"))
        assert "Acknowledged: no more reminders" in acked and "Firing → Acknowledged" in acked
        muted = _text(_post(s, f"/{rule_id}/mute", {"until": "1h"}))
        assert "Muted until" in muted and "Unmute" in muted
        again = _text(_post(s, f"/{rule_id}/evaluate"))
        assert "Evaluated the day" in again or "evaluated already" in again
        bell = s.client.get("/app/notifications", headers=s.auth())
        assert "Firing: Overdue payments" in _text(bell.text)
        assert 'class="count"' not in s.client.get("/app/notifications", headers=s.auth()).text  # read

        assert "/alerts" in _post(s, f"/{rule_id}/delete", status=204)
        assert "No alert yet" in _text(_page(s))


def test_the_editor_previews_saves_and_says_why_it_cannot(tmp_path: Path) -> None:
    with site(tmp_path) as s:
        s.send([("signup", hour_start(2) + timedelta(minutes=1))])
        form = {
            "name": "Signups",
            "metric": "event",
            "event": "signup",
            "math": "total",
            "interval": "hour",
            "condition": "threshold",
            "operator": "above",
            "value": "0",
            "pending_periods": "1",
            "cooldown_minutes": "0",
            "enabled": "1",
            "buckets": "6",
        }
        assert "Create the rule" in _page(s, "/new")
        preview = _text(_post(s, "/preview", form))
        assert "Would have fired 1 time over the last 6 complete hours" in preview
        assert "Threshold (0)" in _post(s, "/preview", form)
        assert "received no 'signups' event" in _text(_post(s, "/preview", {**form, "event": "signups"}))
        assert "The threshold must be a number" in _text(_post(s, "/preview", {**form, "value": "lots"}))
        wrong = _text(_post(s, "/new", {**form, "resolve_value": "5"}, 422))
        assert "This rule cannot be saved" in wrong and "resolve_value must be at or below" in wrong
        unknown = _text(_post(s, "/new", {**form, "event": "signups"}, 422))
        assert "received no 'signups' event" in unknown
        rule_id = int(_post(s, "/new", form, 204).rsplit("/", 1)[1].split("?")[0])
        edit = _page(s, f"/{rule_id}/edit")
        assert 'value="signup"' in edit and "Save the rule" in edit
        stat = {**form, "metric": "stat", "stat": "visitors", "condition": "change", "percent": "20"}
        assert _post(s, f"/{rule_id}/edit", stat, 204).endswith(f"/alerts/{rule_id}")
        rule = s.get(f"/alerts/{rule_id}").json()
        assert rule["series"] == {"stat": "visitors"}
        assert rule["condition"] == {
            "type": "change",
            "direction": "down",
            "percent": 20.0,
            "compare_to": "previous",
        }
        assert "Visitors per hour" in _text(_page(s))


def test_an_anomaly_rule_from_the_editor(tmp_path: Path) -> None:
    """The editor's third condition: saved as the API takes it, previewed with its expected values, said in
    words on the alert's page, and refused on a metric it cannot judge."""
    with site(tmp_path) as s:
        s.send([("signup", hour_start(2) + timedelta(minutes=1))])
        form = {
            "name": "Unusual signups",
            "metric": "event",
            "event": "signup",
            "math": "total",
            "interval": "hour",
            "condition": "anomaly",
            "side": "up",
            "sensitivity": "high",
            "pending_periods": "1",
            "cooldown_minutes": "0",
            "enabled": "1",
            "buckets": "6",
        }
        assert 'value="anomaly"' in _page(s, "/new")
        preview = _text(_post(s, "/preview", form))
        # Two hours of history: nothing to expect yet, so nothing fires (the column says so).
        assert "Would not have fired over the last 6 complete hours" in preview
        assert "Expected" in preview and "no value" in preview
        refused = _text(_post(s, "/new", {**form, "metric": "stat", "stat": "bounce_rate"}, 422))
        assert "an anomaly condition watches a counted series" in refused
        rule_id = int(_post(s, "/new", form, 204).rsplit("/", 1)[1].split("?")[0])
        rule = s.get(f"/alerts/{rule_id}").json()
        assert rule["condition"] == {"type": "anomaly", "sensitivity": "high", "direction": "up"}
        edit = _page(s, f"/{rule_id}/edit")
        assert '<option value="anomaly" selected' in edit and '<option value="high" selected' in edit
        assert "above the band its own past gives the hour (high sensitivity)" in _text(
            _page(s, f"/{rule_id}")
        )


def test_a_plan_without_alerts_says_so_and_a_viewer_only_reads(tmp_path: Path) -> None:
    with site(tmp_path, plan="basic") as s:
        listed = _text(_page(s))
        assert "The basic plan does not include alerts" in listed
        assert "Create this rule" not in listed and "+ New rule" not in listed
        refused = _text(_post(s, "/templates", {"template": "traffic_drop"}, 403))
        assert "does not include 'alerts'; upgrade to premium or above" in refused

    with site(tmp_path / "viewer") as s:
        seen = s.client.get(f"/app/projects/{s.world.project_id}/alerts", headers=s.auth("viewer")).text
        assert "Preview" in seen and "Create this rule" not in seen and "+ New rule" not in seen
