"""An alert from creation to resolution through the API, with real parts: events captured at chosen
instants, the server's own job worker, a real HTTP receiver checking signatures, a real SMTP server."""

from __future__ import annotations

import time
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from tests.integration.alerts.alerts_kit import hour_start, settle, site
from tests.integration.mail_kit import smtp_server
from tests.integration.platform.receiver_kit import receiving
from tests.waiting import eventually

from belvedere.notify.signing import verify


@pytest.mark.parametrize("metadata", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_rule_fires_is_acknowledged_and_resolves_notifying_a_signed_webhook(
    tmp_path: Path, metadata: str, request: pytest.FixtureRequest
) -> None:
    options = (
        {"database_url": request.getfixturevalue("migrated_postgres_url")} if metadata == "postgresql" else {}
    )
    with site(tmp_path, **options) as s, receiving() as receiver:
        channel = s.post("/alert-channels", {"type": "webhook", "name": "Ops", "url": receiver.url})
        assert channel.status_code == 201, channel.text
        secret = channel.json()["secret"]
        assert secret.startswith("whsec_") and s.get("/alert-channels").json()["results"][0]["secret_set"]
        base = hour_start(3)
        s.send([("signup", base + timedelta(minutes=m)) for m in (5, 20, 50)])
        rule = s.post(
            "/alerts",
            {
                "name": "Signups above 2 an hour",
                "series": {"event": "signup"},
                "interval": "hour",
                "condition": {"type": "threshold", "operator": "above", "value": 2},
                "channels": [channel.json()["id"]],
                "enabled": False,  # evaluated only when the test asks, not by the minute's tick
            },
        )
        assert rule.status_code == 201, rule.text
        rid = rule.json()["id"]
        assert rule.json()["state"] == "ok"

        fired = s.post(f"/alerts/{rid}/evaluate", {"at": (base + timedelta(hours=1, seconds=1)).isoformat()})
        assert fired.status_code == 200, fired.text
        assert (fired.json()["evaluated"], fired.json()["state"], fired.json()["value"]) == (
            True,
            "firing",
            3.0,
        )
        # The value is the query API's own number for that hour.
        asked = s.post(
            "/query",
            {
                "kind": "trends",
                "series": [{"event": "signup"}],
                "date_from": base.isoformat(),
                "date_to": (base + timedelta(hours=1)).isoformat(),
                "interval": "hour",
                "totals": True,
            },
        )
        assert asked.json()["series"][0]["total"] == 3
        again = s.post(f"/alerts/{rid}/evaluate", {"at": (base + timedelta(hours=1, minutes=30)).isoformat()})
        assert again.json()["evaluated"] is False  # that hour was evaluated already

        assert eventually(lambda: len(receiver.requests) == 1, timeout=10)
        got = receiver.requests[0]
        assert verify(secret, got.headers["belvedere-signature"], got.body, int(time.time()))
        assert not verify("whsec_another", got.headers["belvedere-signature"], got.body, int(time.time()))
        body = got.json()
        assert body["id"] == got.headers["belvedere-delivery-id"]
        assert body["alert"]["id"] == rid and body["alert"]["url"].endswith(f"/alerts/{rid}")
        assert (body["state"], body["previous_state"], body["value"], body["threshold"]) == (
            "firing",
            "ok",
            3.0,
            2.0,
        )
        assert body["bucket"] == {"start": base.isoformat(), "end": (base + timedelta(hours=1)).isoformat()}
        assert body["fired_at"] is not None and body["project_id"] == s.world.project_id

        acked = s.post(f"/alerts/{rid}/acknowledge")
        assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
        assert acked.json()["acknowledged_by"] == s.world.people["admin"].user_id
        twice = s.post(f"/alerts/{rid}/acknowledge")
        assert twice.status_code == 409 and twice.json()["error"]["code"] == "alert_state"

        resolved = s.post(
            f"/alerts/{rid}/evaluate", {"at": (base + timedelta(hours=2, seconds=1)).isoformat()}
        )
        assert (resolved.json()["state"], resolved.json()["value"]) == ("resolved", 0.0)
        assert eventually(lambda: len(receiver.requests) == 2, timeout=10)
        assert receiver.requests[1].json()["state"] == "resolved"
        assert receiver.requests[1].json()["previous_state"] == "acknowledged"
        settle(s)

        history = s.get(f"/alerts/{rid}/history").json()["results"]
        assert [(h["from_state"], h["to_state"]) for h in history] == [
            ("acknowledged", "resolved"),
            ("firing", "acknowledged"),
            ("ok", "firing"),
        ]
        assert history[2]["value"] == 3.0 and history[2]["threshold"] == 2.0
        sent = s.get(f"/alerts/{rid}/deliveries").json()["results"]
        assert [(d["kind"], d["status"], d["attempts"], d["response_code"]) for d in sent] == [
            ("resolved", "sent", 1, 200),
            ("firing", "sent", 1, 200),
        ]
        bell = s.client.get("/api/v1/me/notifications", headers=s.auth()).json()
        assert bell["unread"] == 2 and [n["level"] for n in bell["results"]] == ["resolved", "alert"]
        read = s.client.post(
            "/api/v1/me/notifications/read", json={"up_to": bell["results"][0]["id"]}, headers=s.auth()
        )
        assert read.status_code == 204
        assert s.client.get("/api/v1/me/notifications", headers=s.auth()).json()["unread"] == 0


def test_pending_periods_and_a_week_over_week_drop_on_the_key_figures(tmp_path: Path) -> None:
    with site(tmp_path) as s:
        base = hour_start(200)  # events over the last days, a week apart
        week = timedelta(weeks=1)
        s.send([("$pageview", base + timedelta(minutes=i)) for i in range(10)], person="then")
        s.send([("$pageview", base + week + timedelta(minutes=i)) for i in range(7)], person="now")
        rule = s.post(
            "/alerts",
            {
                "name": "Visitors down 20 % on the same hour last week",
                "series": {"stat": "visitors"},
                "interval": "hour",
                "condition": {
                    "type": "change",
                    "direction": "down",
                    "percent": 20,
                    "compare_to": "week_before",
                },
                "enabled": False,
            },
        ).json()
        at = base + week + timedelta(hours=1)
        result = s.post(f"/alerts/{rule['id']}/evaluate", {"at": at.isoformat()}).json()
        assert (result["state"], result["value"]) == ("firing", 7.0)  # 10 → 7 visitors: down 30 %
        (event,) = s.get(f"/alerts/{rule['id']}/history").json()["results"]
        assert event["compared"] == 10.0
        stats = s.post(
            "/query",
            {
                "kind": "stats",
                "compare": False,
                "date_from": (base + week).isoformat(),
                "date_to": at.isoformat(),
            },
        ).json()
        assert stats["results"]["visitors"]["value"] == 7

        preview = s.post(
            "/alerts/preview",
            {
                "series": {"event": "$pageview"},
                "interval": "hour",
                "condition": {"type": "threshold", "operator": "above", "value": 5},
                "pending_periods": 1,
                "buckets": 3,
                "at": (base + timedelta(hours=2)).isoformat(),
            },
        )
        assert preview.status_code == 200, preview.text
        points = preview.json()["points"]
        assert [(p["value"], p["breaching"], p["state"], p["fired"]) for p in points] == [
            (0.0, False, "ok", False),
            (10.0, True, "firing", True),
            (0.0, False, "resolved", False),
        ]
        assert preview.json()["fired"] == 1
        assert s.get("/alerts").json()["results"][0]["state"] == "firing"  # the preview changed nothing


def test_an_email_channel_sends_html_and_text_with_the_chart_inline(tmp_path: Path) -> None:
    with (
        smtp_server() as (inbox, port),
        site(tmp_path, mail={"smtp_host": "127.0.0.1", "smtp_port": port}) as s,
    ):
        channel = s.post(
            "/alert-channels", {"type": "email", "name": "Team", "to": ["ann@example.test"]}
        ).json()
        base = hour_start(4)
        s.send([("purchase", base + timedelta(minutes=1))])
        rule = s.post(
            "/alerts",
            {
                "name": "Any purchase",
                "series": {"event": "purchase"},
                "interval": "hour",
                "condition": {"type": "threshold", "operator": "above", "value": 0},
                "channels": [channel["id"]],
                "enabled": False,
            },
        ).json()
        s.post(f"/alerts/{rule['id']}/evaluate", {"at": (base + timedelta(hours=1)).isoformat()})
        assert eventually(lambda: len(inbox.to("ann@example.test")) == 1, timeout=10)
        settle(s)
        (mail,) = inbox.to("ann@example.test")
        assert mail["Subject"] == "Firing: Any purchase"
        delivery = s.get(f"/alerts/{rule['id']}/deliveries").json()["results"][0]
        assert mail["Message-ID"].startswith(f"<{delivery['delivery_id']}@")
        assert delivery["status"] == "sent"
        parts = {part.get_content_type(): part for part in mail.walk()}
        assert {"text/plain", "text/html", "image/png"} <= set(parts)
        assert "purchase (count) was 1" in parts["text/plain"].get_payload(decode=True).decode()
        html = parts["text/html"].get_payload(decode=True).decode()
        cid = parts["image/png"]["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html and f"/alerts/{rule['id']}" in html
        assert parts["image/png"].get_payload(decode=True).startswith(b"\x89PNG")
        assert isinstance(mail, EmailMessage) or mail.is_multipart()


def test_a_slack_channel_gets_blocks_and_its_url_is_never_shown_whole(tmp_path: Path) -> None:
    with site(tmp_path) as s, receiving() as slack:
        made = s.post(
            "/alert-channels", {"type": "slack", "name": "#ops", "url": slack.url + "/T000/B000/XXXXsecret"}
        )
        assert made.status_code == 201
        assert made.json()["url"] == f"https://{slack.url.split('//')[1].split('/')[0]}/…cret"
        assert "XXXXsecret" not in s.get("/alert-channels").text
        base = hour_start(5)
        s.send([("signup", base + timedelta(minutes=3))])
        rule = s.post(
            "/alerts",
            {
                "name": "A signup",
                "series": {"event": "signup"},
                "interval": "hour",
                "condition": {"type": "threshold", "operator": "above", "value": 0},
                "channels": [made.json()["id"]],
                "enabled": False,
            },
        ).json()
        s.post(f"/alerts/{rule['id']}/evaluate", {"at": (base + timedelta(hours=1)).isoformat()})
        assert eventually(lambda: len(slack.requests) == 1, timeout=10)
        body = slack.requests[0].json()
        assert slack.requests[0].path == "/hook/T000/B000/XXXXsecret"
        assert body["text"].startswith("Firing: A signup: signup (count) was 1")
        kinds = [b["type"] for b in body["blocks"]]
        assert kinds == ["header", "section", "actions"]
        assert body["blocks"][2]["elements"][0]["url"].endswith(f"/alerts/{rule['id']}")


def test_the_quota_template_counts_every_project_of_the_organisation(tmp_path: Path) -> None:
    from belvedere.accounts.service import create_project_in
    from belvedere.platform.db import transaction

    plans = {"metered": {"rank": 1, "events_per_month": 10, "features": ["alerts"]}}
    with site(tmp_path, plan="metered", plans=plans, auth={"signup_plan": "metered"}) as s:
        with transaction(s.app.runtime.sessions) as session:
            other = create_project_in(session, organisation_id=s.world.org_id, name="Shop", timezone="UTC")
            other_id, other_key = other.project.id, other.write_key
        at = hour_start(0)
        s.send([("signup", at - timedelta(minutes=30 - i)) for i in range(6)])
        batch = [
            {
                "event": "buy",
                "distinct_id": f"b{i}",
                "timestamp": int((at - timedelta(minutes=20)).timestamp() * 1000),
            }
            for i in range(3)
        ]
        sent = s.client.post(
            "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {other_key}"}
        )
        assert sent.json()["accepted"] == 3 and s.app.wait_stored(3, other_id) == 3
        made = s.post("/alerts/from-template", {"template": "event_quota", "parameters": {"percent": 80}})
        assert made.status_code == 201, made.text
        assert (
            made.json()["series"] == {"quota": "events"}
            and made.json()["name"] == "Event quota over 80 % used"
        )
        rule_id = made.json()["id"]
        s.post(f"/alerts/{rule_id}/mute", {"until": None})
        result = s.post(f"/alerts/{rule_id}/evaluate", {"at": at.isoformat()}).json()
        assert (result["state"], result["value"]) == ("firing", 90.0)  # 9 of 10 events, across both projects
        preview = s.post(
            "/alerts/preview",
            {
                "series": {"quota": "events"},
                "interval": "hour",
                "condition": {"type": "threshold", "operator": "above", "value": 50},
                "buckets": 2,
                "at": at.isoformat(),
            },
        ).json()
        assert [p["value"] for p in preview["points"]][-1] == 90.0
