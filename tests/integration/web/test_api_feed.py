"""The insight feed end to end on the job platform: a run reads the last complete day and writes its
findings once; people pin, dismiss and restore them; the weekly digest mails them to the organisation's
members with a verified address (a real SMTP server); another organisation reaches none of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from tests.integration.accounts.kit import build_world, fast_settings
from tests.integration.capture_kit import Running, running
from tests.integration.mail_kit import smtp_server
from tests.waiting import eventually

from belvedere.accounts.models import Project, User
from belvedere.insights.feed.jobs import DIGEST, last_complete_day
from belvedere.platform.db import transaction


def _history(app: Running, key: str, project_id: int) -> None:
    """Five weeks of 6 visitors a day, and yesterday 30 more from Hacker News."""
    today = datetime.now(UTC).replace(hour=11, minute=0, second=0, microsecond=0)
    batch: list[dict[str, Any]] = []
    for days_ago in range(35, 0, -1):
        day = today - timedelta(days=days_ago)
        people = [(f"d{days_ago}.{i}", None) for i in range(6)]
        if days_ago == 1:
            people += [(f"hn{i}", "https://news.ycombinator.com/item") for i in range(30)]
        for i, (who, referrer) in enumerate(people):
            page = {"url": "https://x.example/"} | ({"referrer": referrer} if referrer else {})
            batch.append(
                {
                    "type": "page",
                    "distinct_id": who,
                    "timestamp": (day + timedelta(minutes=i)).isoformat(),
                    "context": {"page": page},
                }
            )
    for start in range(0, len(batch), 200):
        part = batch[start : start + 200]
        r = app.client.post(
            "/api/v1/capture", json={"batch": part}, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.json()["accepted"] == len(part)
    assert app.wait_stored(len(batch), project_id, timeout=30) == len(batch)


def test_the_feed_is_written_once_pinned_dismissed_and_mailed_weekly(tmp_path: Path) -> None:
    with (
        smtp_server() as (inbox, port),
        running(fast_settings(tmp_path, mail={"smtp_host": "127.0.0.1", "smtp_port": port})) as app,
    ):
        world = build_world(app)
        member, viewer = world.people["member"].auth(), world.people["viewer"].auth()
        _history(app, world.write_key, world.project_id)
        base = f"/api/v1/projects/{world.project_id}/feed"
        assert app.client.get(base, headers=viewer).json() == {"results": []}
        assert app.client.post(f"{base}/refresh", headers=viewer).status_code == 403
        asked = app.client.post(f"{base}/refresh", headers=member)
        assert asked.status_code == 202, asked.text
        with transaction(app.runtime.sessions) as session:
            zone = session.scalar(select(Project.timezone).where(Project.id == world.project_id))
        assert zone is not None
        yesterday = last_complete_day(datetime.now(UTC), zone)
        assert asked.json()["day"] == yesterday.isoformat()

        def listed() -> list[dict[str, Any]]:
            return list(app.client.get(base, headers=viewer).json()["results"])

        assert eventually(lambda: len(listed()) > 0, timeout=30, interval=0.1)
        found = listed()
        titles = [f["title"] for f in found]
        assert any(t.startswith(f"Visitors on {yesterday}: 36, above the expected") for t in titles), titles
        assert "New referrer: news.ycombinator.com sent 30 visitors" in titles
        assert all(f["recommendation"] and f["evidence"]["query"]["kind"] for f in found)
        # A second run of the same day writes nothing new.
        app.client.post(f"{base}/refresh", headers=member)
        assert not eventually(lambda: len(listed()) != len(found), timeout=3, interval=0.2)
        # Pin, dismiss, restore.
        last = found[-1]["id"]
        assert app.client.post(f"{base}/{last}/pin", json={"pinned": True}, headers=viewer).status_code == 403
        pinned = app.client.post(f"{base}/{last}/pin", json={"pinned": True}, headers=member)
        assert pinned.json()["pinned"] is True and listed()[0]["id"] == last
        assert app.client.post(f"{base}/{last}/dismiss", headers=member).json()["dismissed"] is True
        assert last not in [f["id"] for f in listed()]
        gone = app.client.get(f"{base}?dismissed=true", headers=viewer).json()["results"]
        assert [f["id"] for f in gone] == [last] and gone[0]["pinned"] is False
        app.client.post(f"{base}/{last}/restore", headers=member)
        assert last in [f["id"] for f in listed()]
        # Another organisation: nothing.
        outsider = world.people["outsider"].auth()
        assert app.client.get(base, headers=outsider).status_code == 404
        assert app.client.post(f"{base}/{last}/dismiss", headers=outsider).status_code == 404
        other = f"/api/v1/projects/{world.other_project_id}/feed"
        assert app.client.post(f"{other}/{last}/dismiss", headers=outsider).status_code == 404

        # The weekly digest: to the members with a verified address, once.
        with transaction(app.runtime.sessions) as session:
            session.execute(
                update(User)
                .where(User.email == world.people["viewer"].email)
                .values(email_verified_at=datetime.now(UTC))
            )
        payload = {"project_id": world.project_id, "day": date.today().isoformat()}
        app.runtime.jobs.enqueue(DIGEST, payload, org_id=world.org_id, project_id=world.project_id)
        viewer_mail = world.people["viewer"].email
        assert eventually(lambda: len(inbox.to(viewer_mail)) == 1, timeout=20, interval=0.1)
        message = inbox.to(viewer_mail)[0]
        assert message["Subject"].endswith(f"{len(listed())} findings this week")
        body = message.get_payload(decode=True).decode()
        assert "New referrer: news.ycombinator.com sent 30 visitors" in body and "What to do:" in body
        assert f"/app/projects/{world.project_id}/feed" in body
        assert inbox.to(world.people["member"].email) == []  # not verified
        app.runtime.jobs.enqueue(DIGEST, payload, org_id=world.org_id, project_id=world.project_id)
        assert not eventually(lambda: len(inbox.to(viewer_mail)) > 1, timeout=3, interval=0.2)
