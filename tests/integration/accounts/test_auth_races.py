"""Issue #25, findings 6 and 9: limits and single-use links hold when many requests arrive at once.

Each test starts its requests together (a barrier), the way an attacker would, and counts what got through.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.integration.accounts.kit import PASSWORD, World, add_person, build_world, fast_settings
from tests.integration.capture_kit import Running, running

from belvedere.accounts import invitations
from belvedere.accounts.models import User
from belvedere.auth.securitylog import Origin
from belvedere.auth.service import AuthFailed, Throttled
from belvedere.dashboards import sharing
from belvedere.dashboards.models import Dashboard
from belvedere.platform.db import transaction
from belvedere.web.pages.share_pages import PASSWORD_ATTEMPTS

WHERE = Origin(ip_hash="attacker", user_agent="race")


@pytest.fixture
def app(tmp_path: Path, metadata_url: str) -> Iterator[Running]:
    with running(fast_settings(tmp_path, database_url=metadata_url)) as r:
        yield r


def at_once(n: int, attempt: Callable[[int], Any]) -> list[Any]:
    """Run ``attempt(i)`` on ``n`` threads released together; each result, or the exception it raised."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = attempt(i)
        except Exception as exc:  # the outcome under test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def kinds(results: list[Any]) -> Counter[str]:
    return Counter(type(r).__name__ for r in results)


def test_simultaneous_guesses_are_counted_before_any_is_checked(app: Running) -> None:
    person = add_person(app, None, None)
    runtime = app.runtime

    def guess(i: int) -> object:
        with transaction(runtime.sessions) as session:
            return runtime.auth.login(
                session, email=person.email, password=f"guess {i} wrong", ip="203.0.113.9", where=WHERE
            )

    outcome = kinds(at_once(40, guess))
    assert outcome["AuthFailed"] <= runtime.settings.auth.login_attempts, outcome
    assert outcome["Throttled"] == 40 - outcome["AuthFailed"]
    # The right password too, for the rest of the window.
    with pytest.raises(Throttled), transaction(runtime.sessions) as session:
        runtime.auth.login(session, email=person.email, password=PASSWORD, ip=None, where=WHERE)


def test_a_reset_link_used_many_times_at_once_sets_one_password(app: Running) -> None:
    person = add_person(app, None, None)
    runtime = app.runtime
    with transaction(runtime.sessions) as session:
        user = session.get(User, person.user_id)
        assert user is not None
        token = runtime.auth._one_time(session, user, "reset", timedelta(minutes=5))

    def use(i: int) -> str:
        new = f"the new passphrase number {i}"
        with transaction(runtime.sessions) as session:
            runtime.auth.reset_password(session, token=token, new=new, where=WHERE)
        return new

    results = at_once(10, use)
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1, kinds(results)
    assert all(isinstance(r, AuthFailed) for r in results if not isinstance(r, str))


def test_a_refresh_token_spent_twice_at_once_yields_one_session(app: Running) -> None:
    person = add_person(app, None, None)
    runtime = app.runtime
    with transaction(runtime.sessions) as session:
        user = session.get(User, person.user_id)
        assert user is not None
        pair = runtime.auth.issue(session, user)

    def rotate(_: int) -> object:
        with transaction(runtime.sessions) as session:
            return runtime.auth.refresh(session, refresh_token=pair.refresh_token, where=WHERE)

    outcome = kinds(at_once(8, rotate))
    assert outcome["TokenPair"] <= 1, outcome


def test_an_invitation_accepted_many_times_at_once_answers_cleanly(app: Running) -> None:
    world: World = build_world(app)
    invitee = add_person(app, None, None, email="twice@example.test")
    with transaction(app.runtime.sessions) as session:
        _, token = invitations.invite(
            session, organisation_id=world.org_id, email=invitee.email, role="member", invited_by=None, days=1
        )
    client = TestClient(app.client.app, raise_server_exceptions=False)

    def accept(_: int) -> tuple[int, str]:
        response = client.post("/api/v1/invitations/accept", json={"token": token}, headers=invitee.auth())
        return response.status_code, response.headers.get("content-type", "")

    results = at_once(8, accept)
    statuses = Counter(status for status, _ in results)
    assert statuses[200] == 1 and set(statuses) <= {200, 400}, statuses
    assert all(kind == "application/json" for _, kind in results)


def test_simultaneous_share_passwords_are_counted_before_any_is_checked(app: Running) -> None:
    world = build_world(app)
    runtime = app.runtime
    with transaction(runtime.sessions) as session:
        board = session.get(Dashboard, world.dashboard_id)
        assert board is not None
        hashed = runtime.auth.passwords.hash("board secret passphrase")
        token = sharing.share(board, runtime.settings.secret_key, password_hash=hashed)
    client = TestClient(app.client.app, raise_server_exceptions=False, follow_redirects=False)

    def guess(i: int) -> int:
        return client.post(f"/share/{token}", data={"password": f"guess {i}"}).status_code

    statuses = Counter(at_once(30, guess))
    assert statuses[403] <= PASSWORD_ATTEMPTS and statuses[429] == 30 - statuses[403], statuses
