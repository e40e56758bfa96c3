"""Plans: feature gates, limits, the monthly event quota with its warnings, API and ingest rate limits, and
what a suspended or expired organisation may still do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.integration.accounts.kit import World, build_world, fast_settings
from tests.integration.capture_kit import Running, running

from belvedere.accounts.models import Membership, Organisation, UsageMonth
from belvedere.accounts.quotas import current_month
from belvedere.platform.db import transaction
from belvedere.platform.mail import OutboxEmail

PLANS = {
    "small": {
        "rank": 1,
        "projects": 1,
        "members": 5,
        "events_per_month": 10,
        "api_requests_per_15min": 6,
        "ingest_requests_per_minute": 4,
        "features": [],
    },
    "big": {"rank": 2, "features": ["sql", "api"]},
}


@pytest.fixture
def app(tmp_path: Path, metadata_url: str) -> Iterator[Running]:
    settings = fast_settings(tmp_path, database_url=metadata_url, plans=PLANS, auth={"signup_plan": "big"})
    with running(settings) as r:
        yield r


def _set(app: Running, org_id: int, **values: object) -> None:
    with transaction(app.runtime.sessions) as s:
        org = s.get(Organisation, org_id)
        assert org is not None
        for name, value in values.items():
            setattr(org, name, value)
    app.runtime.projects.forget()


def _capture(app: Running, world: World, events: int = 1):  # type: ignore[no-untyped-def]
    batch = [{"event": "e", "distinct_id": f"u{i}"} for i in range(events)]
    return app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {world.write_key}"}
    )


def test_a_gated_feature_names_the_plan_that_has_it(app: Running) -> None:
    world = build_world(app, plan="small")
    owner = world.people["owner"]
    sql = app.client.post(
        f"/api/v1/projects/{world.project_id}/query",
        json={"kind": "sql", "query": "SELECT count(*) FROM events"},
        headers=owner.auth(),
    )
    assert sql.status_code == 403
    error = sql.json()["error"]
    assert error["code"] == "plan_feature" and error["details"]["required_plan"] == "big"
    key = app.client.post(
        f"/api/v1/orgs/{world.org_id}/api-keys", json={"scopes": ["read"]}, headers=owner.auth()
    )
    assert key.status_code == 403 and key.json()["error"]["details"]["feature"] == "api"
    _set(app, world.org_id, plan="big")
    sql = app.client.post(
        f"/api/v1/projects/{world.project_id}/query",
        json={"kind": "sql", "query": "SELECT count(*) AS n FROM events"},
        headers=owner.auth(),
    )
    assert sql.status_code == 200, sql.text


def test_a_limit_reports_usage_and_the_limit(app: Running) -> None:
    world = build_world(app, plan="small")  # one project already: the limit is 1
    response = app.client.post(
        f"/api/v1/orgs/{world.org_id}/projects", json={"name": "Second"}, headers=world.people["admin"].auth()
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "plan_limit"
    assert error["details"] == {"limit": "projects", "plan": "small", "current": 1, "allowed": 1}
    # Members: 5 members (4 roles + … ) and one pending invitation already hold 5 seats.
    invite = app.client.post(
        f"/api/v1/orgs/{world.org_id}/invitations",
        json={"email": "one-more@example.test"},
        headers=world.people["admin"].auth(),
    )
    assert invite.status_code == 403 and invite.json()["error"]["details"]["limit"] == "members"
    usage = app.client.get(f"/api/v1/orgs/{world.org_id}/usage", headers=world.people["viewer"].auth()).json()
    assert usage["used"]["projects"] == 1 and usage["used"]["members"] == 5
    assert usage["limits"]["projects"] == 1


def test_the_monthly_quota_warns_then_refuses(app: Running) -> None:
    world = build_world(app, plan="small")  # 10 events a month
    assert _capture(app, world, 7).json()["accepted"] == 7
    app.runtime.usage.flush()
    assert _subjects(app, world) == []
    assert _capture(app, world, 1).status_code == 202  # 8 of 10: the 80 % warning
    app.runtime.usage.flush()
    owner_mail = _subjects(app, world)
    assert owner_mail == [f"Acme {_serial_of(app, world)} has used 80% of its monthly events"]
    assert _capture(app, world, 2).status_code == 202  # 10 of 10
    refused = _capture(app, world, 1)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "quota_exceeded"
    assert "Retry-After" in refused.headers
    app.runtime.usage.flush()
    assert len(_subjects(app, world)) == 2 and "100%" in _subjects(app, world)[1]
    with transaction(app.runtime.sessions) as s:
        row = s.scalar(select(UsageMonth).where(UsageMonth.organisation_id == world.org_id))
        assert row is not None and row.month == current_month() and row.events == 10
    usage = app.client.get(f"/api/v1/orgs/{world.org_id}/usage", headers=world.people["viewer"].auth()).json()
    assert usage["used"]["events_this_month"] == 10
    assert app.wait_stored(10, world.project_id) == 10  # nothing refused was stored


def test_a_deleted_organisations_uncounted_events_do_not_stop_metering(app: Running) -> None:
    """Found by test_api_fuzz: events counted for an organisation deleted before the next flush made every
    flush fail (a foreign key), so no organisation's usage was stored again until a restart."""
    gone, kept = build_world(app), build_world(app)
    _capture(app, gone, 3)
    _capture(app, kept, 2)
    owner = gone.people["owner"].auth()
    assert app.client.delete(f"/api/v1/orgs/{gone.org_id}", headers=owner).status_code == 204
    app.runtime.usage.flush()
    _capture(app, kept, 1)
    app.runtime.usage.flush()
    with transaction(app.runtime.sessions) as s:
        rows = {r.organisation_id: r.events for r in s.scalars(select(UsageMonth))}
    assert rows == {kept.org_id: 3}


def _serial_of(app: Running, world: World) -> str:
    with transaction(app.runtime.sessions) as s:
        org = s.get(Organisation, world.org_id)
        assert org is not None
        return org.name.split()[-1]


def _subjects(app: Running, world: World) -> list[str]:
    with transaction(app.runtime.sessions) as s:
        owner_ids = s.scalars(
            select(Membership.user_id).where(
                Membership.organisation_id == world.org_id, Membership.role == "owner"
            )
        ).all()
        assert owner_ids
        return list(
            s.scalars(
                select(OutboxEmail.subject)
                .where(OutboxEmail.organisation_id == world.org_id)
                .order_by(OutboxEmail.id)
            )
        )


def test_quota_grace_lets_some_events_past(tmp_path: Path) -> None:
    settings = fast_settings(
        tmp_path, plans=PLANS, rate_limit={"quota_grace_percent": 50}, auth={"signup_plan": "big"}
    )
    with running(settings) as app:
        world = build_world(app, plan="small")
        assert _capture(app, world, 14).status_code == 202
        assert _capture(app, world, 1).status_code == 202  # 15 = 10 + 50 %: the next is refused
        assert _capture(app, world, 1).status_code == 429


def test_api_rate_limit_headers_and_429(app: Running) -> None:
    world = build_world(app, plan="small")  # 6 requests per 15 minutes
    viewer = world.people["viewer"]
    url = f"/api/v1/orgs/{world.org_id}"
    for expected_remaining in range(5, -1, -1):
        response = app.client.get(url, headers=viewer.auth())
        assert response.status_code == 200
        assert response.headers["RateLimit-Limit"] == "6"
        assert response.headers["RateLimit-Remaining"] == str(expected_remaining)
        assert 0 < int(response.headers["RateLimit-Reset"]) <= 900
    refused = app.client.get(url, headers=world.people["owner"].auth())  # per organisation, not per user
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 900
    other = build_world(app, plan="small")
    assert (
        app.client.get(f"/api/v1/orgs/{other.org_id}", headers=other.people["viewer"].auth()).status_code
        == 200
    )


def test_ingest_rate_limit_per_project(app: Running) -> None:
    world = build_world(app, plan="small")  # 4 capture requests per minute
    assert [_capture(app, world).status_code for _ in range(4)] == [202] * 4
    refused = _capture(app, world)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["retry-after"] and refused.headers["ratelimit-limit"] == "4"


@pytest.mark.parametrize("status", ["suspended", "expired"])
def test_a_lapsed_organisation_is_read_only_and_refuses_events(app: Running, status: str) -> None:
    world = build_world(app, plan="big")
    assert _capture(app, world).status_code == 202
    app.wait_stored(1, world.project_id)
    _set(app, world.org_id, status=status)
    owner = world.people["owner"]
    refused = _capture(app, world)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "subscription_expired"
    read = app.client.get(f"/api/v1/orgs/{world.org_id}/members", headers=owner.auth())
    assert read.status_code == 200
    query = app.client.post(
        f"/api/v1/projects/{world.project_id}/query", json={"kind": "stats"}, headers=owner.auth()
    )
    assert query.status_code == 200  # a POST, but a read: still answered
    write = app.client.patch(f"/api/v1/orgs/{world.org_id}", json={"name": "New"}, headers=owner.auth())
    assert write.status_code == 403 and write.json()["error"]["code"] == "subscription_expired"
    assert app.runtime.store.count_events(project_id=world.project_id) == 1  # data kept


def test_a_trial_past_its_end_is_expired(app: Running) -> None:
    world = build_world(app, plan="big")
    _set(app, world.org_id, status="trial", expires_at=datetime.now(UTC) - timedelta(minutes=1))
    assert _capture(app, world).json()["error"]["code"] == "subscription_expired"
    _set(app, world.org_id, expires_at=datetime.now(UTC) + timedelta(days=3))
    assert _capture(app, world).status_code == 202


def test_signup_can_start_a_trial(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, plans=PLANS, auth={"signup_plan": "small", "trial_days": 14})
    with running(settings) as app:
        created = app.client.post(
            "/api/v1/auth/signup",
            json={
                "email": "t@example.test",
                "password": "a long and unusual passphrase 42",
                "organisation": "T",
            },
        ).json()
        org = app.client.get(
            f"/api/v1/orgs/{created['organisation']['id']}",
            headers={"Authorization": f"Bearer {created['access_token']}"},
        ).json()
        assert org["plan"] == "small" and org["status"] == "trial"
        days = (datetime.fromisoformat(org["expires_at"]) - datetime.now(UTC)).days
        assert days in (13, 14)
