"""Every API route, for every role and for a user of another organisation, read from the route table:
a route added without an access requirement fails here, and every requirement is checked by calling it.

Expected: the outsider gets 404 (the resource's existence is not revealed); a role below the route's
requirement gets 403; a role at or above it gets through authorization (2xx, or a validation/domain answer
that is not an access refusal). Each case runs on a fresh world, since allowed calls change data.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from tests.conftest import fresh_pg_database
from tests.integration.accounts.kit import World, build_world, fast_settings, snapshot
from tests.integration.capture_kit import Running, running

from belvedere.accounts.roles import ROLES, at_least
from belvedere.app import BelvedereApp
from belvedere.config import Settings
from belvedere.web.access import Access, signed_in

# Routes anyone may call: the auth entry points (credentials are their input) and operations endpoints.
PUBLIC = {
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/login/code"),  # the pending token of a right password is its credential
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/password/reset"),
    ("POST", "/api/v1/auth/password/reset/confirm"),
    ("POST", "/api/v1/auth/verify"),
}
OPERATIONS = {"/health", "/ready", "/metrics"}
# Pages anyone may open: the signed-out forms, the home redirect and the tracker script.
PUBLIC_PAGES = {"/", "/login", "/login/code", "/signup", "/js/belvedere.js", "/favicon.ico"}
# The pages account emails link to: their token is the credential (and they act through the API handlers).
PUBLIC_PAGES |= {"/forgot-password", "/reset-password", "/verify-email", "/invitations/accept"}
# Shared dashboards: the signed link in the path is the credential.
SHARED = {"/share/{token}", "/share/{token}/widgets/{widget_id}"}

BODIES = {
    ("PATCH", "/api/v1/orgs/{org_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/orgs/{org_id}/transfer"): {"user_id": "{member}"},
    ("PATCH", "/api/v1/orgs/{org_id}/members/{user_id}"): {"role": "viewer"},
    ("POST", "/api/v1/orgs/{org_id}/invitations"): {"email": "new@example.test", "role": "viewer"},
    ("POST", "/api/v1/orgs/{org_id}/api-keys"): {"scopes": ["read"]},
    ("POST", "/api/v1/orgs/{org_id}/projects"): {"name": "Another"},
    ("PATCH", "/api/v1/projects/{project_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/projects/{project_id}/query"): {"kind": "stats", "date_from": "-7d"},
    ("POST", "/api/v1/projects/{project_id}/insights"): {"name": "Figures", "query": {"kind": "stats"}},
    ("PATCH", "/api/v1/projects/{project_id}/insights/{insight_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/projects/{project_id}/dashboards"): {"name": "Another"},
    ("POST", "/api/v1/projects/{project_id}/annotations"): {"day": "2026-12-01", "note": "Launch"},
    ("PATCH", "/api/v1/projects/{project_id}/dashboards/{dashboard_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/projects/{project_id}/dashboards/{dashboard_id}/widgets"): {"insight_id": "{insight}"},
    ("POST", "/api/v1/projects/{project_id}/dashboards/{dashboard_id}/share"): {},
    ("POST", "/api/v1/projects/{project_id}/alert-channels"): {
        "type": "email",
        "name": "E",
        "to": ["a@b.test"],
    },
    ("PATCH", "/api/v1/projects/{project_id}/alert-channels/{channel_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/projects/{project_id}/alerts"): {
        "name": "Rule",
        "series": {"stat": "visitors"},
        "condition": {"type": "threshold", "operator": "above", "value": 1},
    },
    ("POST", "/api/v1/projects/{project_id}/alerts/from-template"): {"template": "traffic_drop"},
    ("POST", "/api/v1/projects/{project_id}/cohorts"): {
        "name": "Buyers",
        "definition": {"type": "behaviour", "event": "buy"},
    },
    ("PATCH", "/api/v1/projects/{project_id}/cohorts/{cohort_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/projects/{project_id}/feed/{item_id}/pin"): {"pinned": True},
    ("POST", "/api/v1/projects/{project_id}/alerts/preview"): {
        "series": {"stat": "visitors"},
        "condition": {"type": "threshold", "operator": "above", "value": 1},
        "buckets": 2,
    },
    ("PATCH", "/api/v1/projects/{project_id}/alerts/{rule_id}"): {"name": "Renamed"},
    ("POST", "/api/v1/projects/{project_id}/alerts/{rule_id}/evaluate"): {},
    ("POST", "/api/v1/projects/{project_id}/alerts/{rule_id}/mute"): {"until": None},
    # Page forms (sent form-encoded).
    ("POST", "/app/orgs/{org_id}/projects/new"): {"name": "Another"},
    ("POST", "/app/orgs/{org_id}/settings/invitations"): {"email": "new@example.test", "role": "viewer"},
    ("POST", "/app/orgs/{org_id}/settings/members/{user_id}/role"): {"role": "viewer"},
    ("POST", "/app/orgs/{org_id}/settings/api-keys"): {"scope": "read"},
    ("POST", "/app/orgs/{org_id}/settings/rename"): {"name": "Renamed"},
    ("POST", "/app/orgs/{org_id}/settings/delete"): {"confirm": "not its name"},  # refused, the org kept
    ("POST", "/app/projects/{project_id}/insights"): {
        "name": "Saved",
        "query": '{"kind": "funnel", "steps": [{"event": "a"}, {"event": "b"}]}',
    },
    ("POST", "/app/projects/{project_id}/insights/{insight_id}/rename"): {"name": "Renamed"},
    ("POST", "/app/projects/{project_id}/insights/{insight_id}/question"): {"query": '{"kind": "stats"}'},
    ("POST", "/app/projects/{project_id}/dashboards"): {"name": "Another"},
    ("POST", "/app/projects/{project_id}/annotations"): {"day": "2026-12-01", "note": "Launch"},
    ("POST", "/app/projects/{project_id}/dashboards/{dashboard_id}/rename"): {"name": "Renamed"},
    ("POST", "/app/projects/{project_id}/dashboards/{dashboard_id}/widgets"): {"insight_id": "{insight}"},
    ("POST", "/app/projects/{project_id}/insights/{insight_id}/dashboards"): {"dashboard_id": "{dashboard}"},
    ("POST", "/app/projects/{project_id}/dashboards/{dashboard_id}/widgets/{widget_id}/move"): {
        "direction": "up"
    },
    ("POST", "/app/projects/{project_id}/dashboards/{dashboard_id}/widgets/{widget_id}/resize"): {"width": 2},
    ("POST", "/app/projects/{project_id}/dashboards/{dashboard_id}/arrange"): {"order": "{widget}"},
    ("POST", "/app/projects/{project_id}/dashboards/{dashboard_id}/share"): {"password": ""},
    ("POST", "/app/projects/{project_id}/settings"): {"name": "Renamed", "timezone": "Europe/Paris"},
    ("POST", "/app/projects/{project_id}/settings/delete"): {"confirm": "Site"},
    ("POST", "/app/projects/{project_id}/settings/goals"): {
        "kind": "page",
        "target": "/blog/*",
        "name": "Blog",
    },
    ("POST", "/app/projects/{project_id}/settings/goals/delete"): {"name": "Blog"},
    ("POST", "/app/projects/{project_id}/alerts/templates"): {"template": "traffic_drop"},
    ("POST", "/app/projects/{project_id}/cohorts"): {"name": "Buyers", "event": "buy"},
    ("POST", "/app/projects/{project_id}/alerts/templates/preview"): {"template": "traffic_drop"},
    ("POST", "/app/projects/{project_id}/alerts/new"): {
        "name": "Rule",
        "metric": "stat",
        "stat": "visitors",
        "condition": "threshold",
        "value": "1",
    },
    ("POST", "/app/projects/{project_id}/alerts/preview"): {
        "metric": "stat",
        "stat": "visitors",
        "value": "1",
        "buckets": "2",
    },
    ("POST", "/app/projects/{project_id}/alerts/{rule_id}/edit"): {"name": "Renamed", "value": "1"},
    ("POST", "/app/projects/{project_id}/alerts/{rule_id}/mute"): {"until": "1h"},
    ("POST", "/app/projects/{project_id}/alerts/channels"): {"type": "email", "name": "E", "to": "a@b.test"},
}


def _requirement(route: APIRoute, method: str, path: str) -> Access | str:
    stack = list(route.dependant.dependencies)
    found: str | None = None
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Access):
            return dep.call
        if dep.call is signed_in:
            found = "signed_in"
        stack.extend(dep.dependencies)
    if found:
        return found
    if (method, path) in PUBLIC or path in OPERATIONS or path in PUBLIC_PAGES or path in SHARED:
        return "public"
    return "undeclared"


def _flat(routes: list[BaseRoute]) -> Iterator[tuple[str, BaseRoute]]:
    """(full path, route) of every route, through included routers (FastAPI ≥ 0.16x nests them)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: the table is flat already
        yield from ((getattr(r, "path", ""), r) for r in routes)
        return
    for context in iter_route_contexts(routes):
        yield context.path or "", context.original_route


def _routes(settings: Settings) -> list[tuple[str, str, Access | str]]:
    from belvedere.runtime import Runtime

    app = BelvedereApp(Runtime(settings), manage_runtime=False)
    out = []
    for path, route in _flat(app.api.routes):
        if isinstance(route, APIRoute) and not path.startswith(("/docs", "/openapi", "/redoc")):
            for method in sorted(route.methods):
                out.append((method, path, _requirement(route, method, path)))
    assert {p for _, p, _ in out} >= set(app.api.openapi()["paths"]) - {"/api/v1/capture"}
    return out


_ROUTES = _routes(fast_settings(Path("/nonexistent-belvedere-matrix")))
_GUARDED = [(m, p, r) for m, p, r in _ROUTES if isinstance(r, Access)]


def test_every_route_declares_who_may_call_it() -> None:
    undeclared = [(m, p) for m, p, r in _ROUTES if r == "undeclared"]
    assert not undeclared, f"routes without an Access requirement or a PUBLIC entry: {undeclared}"
    assert len(_GUARDED) >= 20  # the table really was read


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running(fast_settings(tmp_path_factory.mktemp("matrix"))) as r:
        yield r


@pytest.fixture(scope="module")
def postgresql_app(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Running]:
    template = request.getfixturevalue("postgres_template")  # at head: the runtime migrates nothing
    with (
        fresh_pg_database(request.getfixturevalue("postgres_server"), template=template) as url,
        running(fast_settings(tmp_path_factory.mktemp("matrix"), database_url=url)) as r,
    ):
        yield r


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest) -> Running:
    running_app: Running = request.getfixturevalue(f"{request.param}_app")
    return running_app


def _fill(path: str, world: World) -> str:
    return path.format(
        org_id=world.org_id,
        project_id=world.project_id,
        user_id=world.people["member"].user_id,
        invitation_id=world.invitation_id,
        key_id=world.key_id,
        event_uuid=uuid.uuid4(),
        panel="pages",
        dimension="page",
        annotation_id=world.extra.get("annotation_id", 0),
        insight_id=world.insight_id,
        dashboard_id=world.dashboard_id,
        widget_id=world.widget_id,
        job_id=1,  # not the organisation's: an admin gets past authorization to a 404
        channel_id=1,
        rule_id=1,
        delivery_id=1,
        cohort_id=1,
        item_id=1,
        action="pin",
    )


def _error(response: httpx.Response) -> dict[str, str]:
    """The JSON error of an API route; pages answer HTML, so their status alone tells (code from status)."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json().get("error", {}) if response.content else {}
    codes = {404: "not_found", 403: "forbidden", 401: "unauthorized"}
    return {"code": codes.get(response.status_code, ""), "message": response.text}


def _body(method: str, path: str, world: World) -> object:
    body = BODIES.get((method, path))
    ids = {
        "{member}": world.people["member"].user_id,
        "{insight}": world.insight_id,
        "{dashboard}": world.dashboard_id,
        "{widget}": world.widget_id,
    }
    if body:
        return {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    return body


def _send(app: Running, method: str, path: str, url: str, world: World, **kwargs: object) -> httpx.Response:
    """JSON for the API, a form for pages."""
    body = _body(method, path, world)
    key = "json" if path.startswith("/api/") else "data"
    return app.client.request(method, url, **{key: body}, **kwargs)  # type: ignore[arg-type]


CALLERS = [*ROLES, "outsider"]
_ROUTE_IDS = [f"{m} {p}" for m, p, _ in _GUARDED]


@pytest.mark.parametrize(("method", "path", "access"), _GUARDED, ids=_ROUTE_IDS)
@pytest.mark.parametrize("caller", CALLERS)
def test_role_matrix(sqlite_app: Running, method: str, path: str, access: Access, caller: str) -> None:
    _check_access(sqlite_app, method, path, access, caller)


# On PostgreSQL, the owner (every call gets through: each handler runs on it) and the outsider (the tenant
# scoping of its queries). Which roles are refused is decided in Python alone (``at_least``), the same on
# both databases; the whole matrix on both cost 83 s of the suite's CPU.
@pytest.mark.postgres
@pytest.mark.parametrize(("method", "path", "access"), _GUARDED, ids=_ROUTE_IDS)
@pytest.mark.parametrize("caller", ["owner", "outsider"])
def test_role_matrix_on_postgresql(
    postgresql_app: Running, method: str, path: str, access: Access, caller: str
) -> None:
    _check_access(postgresql_app, method, path, access, caller)


def _check_access(app: Running, method: str, path: str, access: Access, caller: str) -> None:
    world = build_world(app)
    person = world.people[caller]
    refused = caller == "outsider" or not at_least(caller, access.role)
    before = snapshot(app, world) if refused else None
    response = _send(app, method, path, _fill(path, world), world, headers=person.auth())
    error = _error(response)
    if refused:
        assert snapshot(app, world) == before  # nothing changed
    if caller == "outsider":
        assert response.status_code == 404, response.text
        assert error["code"] == "not_found"
    elif not at_least(caller, access.role):
        assert response.status_code == 403, response.text
        assert error["code"] == "forbidden"
    else:
        assert response.status_code not in (401, 403), response.text
        if response.status_code == 404:  # a missing resource, never an access refusal
            assert "organisation you are not in" not in error.get("message", ""), response.text


def test_signed_in_routes_need_a_user(app: Running) -> None:
    world = build_world(app)
    routes = [(m, p) for m, p, r in _ROUTES if r == "signed_in"]
    assert ("GET", "/api/v1/me") in routes
    for method, path in routes:
        anonymous = app.client.request(method, path, json={}, follow_redirects=False)
        assert anonymous.status_code in (401, 303), (path, anonymous.text)
        project_key = app.client.request(
            method, path, json={}, headers={"Authorization": f"Bearer {world.read_key}"}
        )
        assert project_key.status_code == 403, (path, project_key.text)


@pytest.mark.parametrize(("method", "path", "access"), _GUARDED, ids=[f"{m} {p}" for m, p, _ in _GUARDED])
def test_anonymous_and_project_keys(app: Running, method: str, path: str, access: Access) -> None:
    world = build_world(app)
    url = _fill(path, world)
    anonymous = _send(app, method, path, url, world, follow_redirects=False)
    if path.startswith("/api/"):
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    else:  # a page sends the visitor to the login page
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
    keyed = _send(app, method, path, url, world, headers={"Authorization": f"Bearer {world.read_key}"})
    if access.project_key:
        assert keyed.status_code not in (401, 403, 404) or "not in" not in keyed.text, keyed.text
    else:
        assert keyed.status_code == 404, keyed.text


_SUB_RESOURCES = [
    (m, p, r)
    for m, p, r in _GUARDED
    if re.search(r"\{(user_id|invitation_id|key_id|insight_id|dashboard_id|widget_id)\}", p)
]


@pytest.mark.parametrize(
    ("method", "path", "access"), _SUB_RESOURCES, ids=[f"{m} {p}" for m, p, _ in _SUB_RESOURCES]
)
def test_ids_of_another_organisation_in_every_sub_resource_path(
    app: Running, method: str, path: str, access: Access
) -> None:
    """The owner of organisation A names a member, invitation, key, insight, dashboard or widget of
    organisation B under A's path."""
    world, other = build_world(app), build_world(app)
    url = path.format(
        org_id=world.org_id,
        project_id=world.project_id,
        user_id=other.people["member"].user_id,
        invitation_id=other.invitation_id,
        key_id=other.key_id,
        insight_id=other.insight_id,
        dashboard_id=other.dashboard_id,
        widget_id=other.widget_id,
    )
    before = snapshot(app, world, other)
    response = _send(app, method, path, url, world, headers=world.people["owner"].auth())
    assert response.status_code == 404, response.text
    assert snapshot(app, world, other) == before


def test_a_member_id_of_another_organisation_in_a_body_field(app: Running) -> None:
    world, other = build_world(app), build_world(app)
    before = snapshot(app, world, other)
    response = app.client.post(
        f"/api/v1/orgs/{world.org_id}/transfer",
        json={"user_id": other.people["member"].user_id},
        headers=world.people["owner"].auth(),
    )
    assert response.status_code == 404
    assert snapshot(app, world, other) == before
