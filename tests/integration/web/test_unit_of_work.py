"""Issue #26, item 6: ``SessionDep`` is a route's unit of work — committed when the route returns, rolled
back when it raises, its after-commit actions run — and all of it before the client has its answer."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import select

from belvedere.accounts.models import Organisation
from belvedere.accounts.organisations import create_organisation
from belvedere.platform import migrate
from belvedere.platform.db import after_commit, make_engine, make_session_factory, transaction
from belvedere.platform.errors import Conflict
from belvedere.web.access import SessionDep


@pytest.fixture
def app(metadata_url: str) -> Iterator[tuple[TestClient, list[str]]]:
    engine = make_engine(metadata_url)
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    seen: list[str] = []
    api = FastAPI()
    api.state.runtime = SimpleNamespace(sessions=sessions)

    def names() -> list[str]:
        with transaction(sessions) as session:
            return sorted(session.scalars(select(Organisation.name)))

    @api.post("/orgs/{name}")
    def create(name: str, session: SessionDep) -> dict[str, object]:
        create_organisation(session, name=name, owner=None, plan="free")
        after_commit(session, lambda: seen.append(f"committed {name}: {names()}"))
        if name.startswith("bad"):
            raise Conflict("refused after the change was made")
        return {"created": name}

    @api.post("/failing-hook")
    def failing_hook(session: SessionDep) -> dict[str, object]:
        after_commit(session, lambda: 1 / 0)
        return {"ok": True}

    @api.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"code": exc.code}, status_code=exc.status)

    with TestClient(api, raise_server_exceptions=False) as client:
        yield client, seen
    engine.dispose()


def test_a_route_that_returns_has_committed_and_run_its_hooks_before_the_answer(
    app: tuple[TestClient, list[str]],
) -> None:
    client, seen = app
    assert client.post("/orgs/Acme").json() == {"created": "Acme"}
    # The hook ran after the commit (it read the new row from another session) and before the answer.
    assert seen == ["committed Acme: ['Acme']"]


def test_a_route_that_raises_changes_nothing_and_runs_no_hook(app: tuple[TestClient, list[str]]) -> None:
    client, seen = app
    assert client.post("/orgs/bad-one").status_code == 409
    assert client.post("/orgs/Fine").status_code == 200
    assert seen == ["committed Fine: ['Fine']"]  # bad-one was rolled back, its hook dropped


def test_the_answer_waits_for_the_unit_of_work(app: tuple[TestClient, list[str]]) -> None:
    """Ended after the response was sent (FastAPI's default scope), a failure there would reach no one and
    the client would have its 200."""
    client, _ = app
    assert client.post("/failing-hook").status_code == 500
