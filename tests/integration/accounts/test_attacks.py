"""What attackers try, each refused with the right status and nothing changed."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.integration.accounts.kit import World, add_person, build_world, fast_settings
from tests.integration.capture_kit import Running, running

from belvedere.accounts.models import Membership, Organisation, Project
from belvedere.auth.tokens import key_set
from belvedere.platform.db import transaction


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running(fast_settings(tmp_path_factory.mktemp("attacks"))) as r:
        yield r


@pytest.fixture
def world(app: Running) -> World:
    return build_world(app)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


def _claims(user_id: int, **extra: object) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": "belvedere",
        "sub": str(user_id),
        "ver": 0,
        "iat": now,
        "exp": now + 600,
        "typ": "access",
        "fam": "x",
        **extra,
    }


def _org_name(app: Running, org_id: int) -> str:
    with transaction(app.runtime.sessions) as s:
        org = s.get(Organisation, org_id)
        assert org is not None
        return org.name


def _me(app: Running, token: str) -> int:
    return app.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_forged_tokens_are_refused(app: Running, world: World) -> None:
    owner = world.people["owner"]
    secret = key_set(app.runtime.settings)[0]
    # Signed with a guessed secret, under the real key id.
    forged = jwt.encode(_claims(owner.user_id), "guess" * 10, algorithm="HS256", headers={"kid": secret.kid})
    # alg: none, no signature at all.
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': secret.kid})}.{_b64(_claims(owner.user_id))}."
    # A real token with its payload swapped for another user's id (signature no longer matches).
    real = owner.token.split(".")
    swapped = f"{real[0]}.{_b64(_claims(world.people['outsider'].user_id))}.{real[2]}"
    # Unknown key id, a refresh-type token, and a token whose issuer is not us.
    unknown_kid = jwt.encode(_claims(owner.user_id), secret.secret, algorithm="HS256", headers={"kid": "old"})
    wrong_type = jwt.encode(_claims(owner.user_id, typ="refresh"), secret.secret, headers={"kid": secret.kid})
    wrong_iss = jwt.encode(_claims(owner.user_id, iss="evil"), secret.secret, headers={"kid": secret.kid})
    expired = jwt.encode(
        _claims(owner.user_id, exp=int(time.time()) - 1), secret.secret, headers={"kid": secret.kid}
    )
    for token in (forged, unsigned, swapped, unknown_kid, wrong_type, wrong_iss, expired, "garbage", ""):
        assert _me(app, token) in (401, 403), token
    assert _me(app, owner.token) == 200
    # HS256 with the secret used as if it were a public key of another algorithm is refused as well.
    hs512 = jwt.encode(_claims(owner.user_id), secret.secret, algorithm="HS512", headers={"kid": secret.kid})
    assert _me(app, hs512) == 401


def test_a_token_from_another_organisation_reaches_nothing(app: Running, world: World) -> None:
    outsider = world.people["outsider"]
    before = _org_name(app, world.org_id)
    for method, path, body in [
        ("GET", f"/api/v1/orgs/{world.org_id}", None),
        ("PATCH", f"/api/v1/orgs/{world.org_id}", {"name": "Owned"}),
        ("DELETE", f"/api/v1/orgs/{world.org_id}", None),
        ("GET", f"/api/v1/projects/{world.project_id}", None),
        ("DELETE", f"/api/v1/projects/{world.project_id}", None),
        ("POST", f"/api/v1/projects/{world.project_id}/query", {"kind": "stats"}),
        ("GET", f"/api/v1/orgs/{world.org_id}/security-log", None),
    ]:
        response = app.client.request(method, path, json=body, headers=outsider.auth())
        assert response.status_code == 404, (method, path, response.text)
    assert _org_name(app, world.org_id) == before
    with transaction(app.runtime.sessions) as s:
        assert s.get(Project, world.project_id) is not None


def test_ids_of_another_organisation_in_paths_and_bodies(app: Running, world: World) -> None:
    admin, owner = world.people["admin"], world.people["owner"]
    stranger = world.people["outsider"]
    other = build_world(app)
    # A member id of another organisation, under our own organisation's path.
    patched = app.client.patch(
        f"/api/v1/orgs/{world.org_id}/members/{stranger.user_id}",
        json={"role": "admin"},
        headers=admin.auth(),
    )
    assert patched.status_code == 404
    removed = app.client.delete(
        f"/api/v1/orgs/{world.org_id}/members/{stranger.user_id}", headers=admin.auth()
    )
    assert removed.status_code == 404
    # Another organisation's invitation and key ids under our path.
    assert (
        app.client.delete(
            f"/api/v1/orgs/{world.org_id}/invitations/{other.invitation_id}", headers=admin.auth()
        ).status_code
        == 404
    )
    assert (
        app.client.delete(
            f"/api/v1/orgs/{world.org_id}/api-keys/{other.key_id}", headers=admin.auth()
        ).status_code
        == 404
    )
    # Ownership cannot be handed to someone outside the organisation.
    transfer = app.client.post(
        f"/api/v1/orgs/{world.org_id}/transfer", json={"user_id": stranger.user_id}, headers=owner.auth()
    )
    assert transfer.status_code == 404
    with transaction(app.runtime.sessions) as s:
        roles = {m.user_id: m.role for m in s.scalars(select(Membership))}
    assert roles[stranger.user_id] == "owner" and roles[owner.user_id] == "owner"
    assert stranger.user_id not in {m.user_id for m in _members(app, world)}


def _members(app: Running, world: World) -> list[Membership]:
    with transaction(app.runtime.sessions) as s:
        return list(s.scalars(select(Membership).where(Membership.organisation_id == world.org_id)))


def test_privilege_escalation_within_the_organisation(app: Running, world: World) -> None:
    admin, member = world.people["admin"], world.people["member"]
    # An admin cannot make anyone an owner, nor demote the owner.
    up = app.client.patch(
        f"/api/v1/orgs/{world.org_id}/members/{admin.user_id}", json={"role": "owner"}, headers=admin.auth()
    )
    assert up.status_code == 403
    down = app.client.patch(
        f"/api/v1/orgs/{world.org_id}/members/{world.people['owner'].user_id}",
        json={"role": "viewer"},
        headers=admin.auth(),
    )
    assert down.status_code == 403
    # A member cannot mint an admin-scoped key.
    key = app.client.post(
        f"/api/v1/orgs/{world.org_id}/api-keys", json={"scopes": ["admin"]}, headers=member.auth()
    )
    assert key.status_code == 403
    # A member cannot revoke an admin's key (it is not theirs): 404, the key is not revealed.
    admin_key = app.client.post(
        f"/api/v1/orgs/{world.org_id}/api-keys", json={"scopes": ["read"]}, headers=admin.auth()
    ).json()
    revoked = app.client.delete(
        f"/api/v1/orgs/{world.org_id}/api-keys/{admin_key['id']}", headers=member.auth()
    )
    assert revoked.status_code == 404
    # The last owner cannot be demoted, even by themselves.
    alone = app.client.patch(
        f"/api/v1/orgs/{world.org_id}/members/{world.people['owner'].user_id}",
        json={"role": "admin"},
        headers=world.people["owner"].auth(),
    )
    assert alone.status_code == 409
    roles = {m.user_id: m.role for m in _members(app, world)}
    assert roles[admin.user_id] == "admin" and roles[world.people["owner"].user_id] == "owner"


def test_removed_members_lose_access_at_once(app: Running, world: World) -> None:
    member = world.people["member"]
    assert app.client.get(f"/api/v1/orgs/{world.org_id}", headers=member.auth()).status_code == 200
    gone = app.client.delete(
        f"/api/v1/orgs/{world.org_id}/members/{member.user_id}", headers=world.people["admin"].auth()
    )
    assert gone.status_code == 204
    assert app.client.get(f"/api/v1/orgs/{world.org_id}", headers=member.auth()).status_code == 404


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'{"name": ' + b'"x"' * 1 + b"}", "text/plain"),
        (b"\xff\xfe\x00", "application/json"),
        (orjson.dumps({"name": "x" * 5000}), "application/json"),
        (orjson.dumps({"name": ""}), "application/json"),
        (orjson.dumps({"name": {"$ne": 1}}), "application/json"),
    ],
)
def test_malformed_and_oversized_bodies(
    app: Running, world: World, content: bytes, content_type: str
) -> None:
    before = _org_name(app, world.org_id)
    response = app.client.patch(
        f"/api/v1/orgs/{world.org_id}",
        content=content,
        headers={**world.people["owner"].auth(), "Content-Type": content_type},
    )
    # Unparsable bytes are a bad request (400); parsable but invalid JSON fails validation (422).
    assert response.status_code in (400, 422), response.text
    assert response.json()["error"]["code"] in ("bad_request", "invalid_request")
    assert _org_name(app, world.org_id) == before


def test_path_ids_that_are_not_ids(app: Running, world: World) -> None:
    owner = world.people["owner"]
    for path in (
        "/api/v1/orgs/abc",
        "/api/v1/orgs/-1",
        "/api/v1/orgs/99999999999999999999",
        "/api/v1/orgs/0",
    ):
        assert app.client.get(path, headers=owner.auth()).status_code in (404, 422), path
    # Ids past what the database holds, in every other place an id goes (found by test_api_fuzz).
    huge, org, project = 2**70, world.org_id, world.project_id
    client = TestClient(app.client.app, raise_server_exceptions=False)
    attempts = [
        ("POST", f"/api/v1/orgs/{org}/transfer", {"user_id": huge}),
        ("PATCH", f"/api/v1/orgs/{org}/members/{huge}", {"role": "admin"}),
        ("DELETE", f"/api/v1/orgs/{org}/members/{huge}", None),
        ("DELETE", f"/api/v1/orgs/{org}/invitations/{huge}", None),
        ("DELETE", f"/api/v1/orgs/{org}/api-keys/{huge}", None),
        ("GET", f"/api/v1/projects/{project}/dashboards/{huge}", None),
        ("POST", f"/api/v1/projects/{project}/dashboards/{world.dashboard_id}/widgets", {"insight_id": huge}),
        ("PATCH", f"/api/v1/projects/{project}/dashboards/{world.dashboard_id}", {"order": [huge]}),
        ("GET", f"/api/v1/projects/{project}/insights/{huge}", None),
        ("GET", f"/app/projects/{project}/dashboards/{huge}", None),
    ]
    for method, path, body in attempts:
        answer = client.request(method, path, json=body, headers=owner.auth())
        assert answer.status_code in (404, 422), (method, path, answer.status_code, answer.text[:200])


def test_a_sql_injection_in_login_is_just_a_wrong_email(app: Running, world: World) -> None:
    response = app.client.post(
        "/api/v1/auth/login", json={"email": "'or'1'='1'--@x.y", "password": "whatever whatever"}
    )
    assert response.status_code == 401


def test_security_headers(app: Running, world: World) -> None:
    response = app.client.get(f"/api/v1/orgs/{world.org_id}", headers=world.people["viewer"].auth())
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers  # plain HTTP here
    https = app.client.get("https://testserver/health")
    assert https.headers["strict-transport-security"].startswith("max-age=")
    capture = app.client.options("/api/v1/capture")
    assert capture.headers["access-control-allow-origin"] == "*"


def test_cors_is_an_allow_list_for_the_management_api(tmp_path: Path) -> None:
    with running(fast_settings(tmp_path, cors_origins=["https://app.example.com"])) as app:
        preflight = {
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        }
        allowed = app.client.options("/api/v1/me", headers={"Origin": "https://app.example.com", **preflight})
        assert allowed.headers.get("access-control-allow-origin") == "https://app.example.com"
        refused = app.client.options("/api/v1/me", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in refused.headers
        anyone = app.client.post(
            "/api/v1/capture", json={"event": "x"}, headers={"Origin": "https://evil.example"}
        )
        assert anyone.headers["access-control-allow-origin"] == "*"


def test_a_deleted_user_token_stops_working(app: Running, world: World) -> None:
    ghost = add_person(app, world.org_id, "admin")
    assert _me(app, ghost.token) == 200
    with transaction(app.runtime.sessions) as s:
        from belvedere.accounts.models import User

        s.delete(s.get(User, ghost.user_id))
    assert _me(app, ghost.token) == 401


def test_a_subdomain_pins_the_organisation(tmp_path: Path) -> None:
    with running(fast_settings(tmp_path, auth={"org_subdomain_base": "example.com"})) as app:
        world = build_world(app)
        person = add_person(app, world.other_org_id, "viewer")  # a member of both organisations
        with transaction(app.runtime.sessions) as s:
            s.add(Membership(organisation_id=world.org_id, user_id=person.user_id, role="viewer"))
            slugs = {o.id: o.slug for o in s.scalars(select(Organisation))}
        ours, theirs = slugs[world.org_id], slugs[world.other_org_id]
        url = f"/api/v1/orgs/{world.org_id}"
        assert (
            app.client.get(url, headers={**person.auth(), "Host": f"{ours}.example.com"}).status_code == 200
        )
        assert (
            app.client.get(url, headers={**person.auth(), "Host": f"{theirs}.example.com"}).status_code == 404
        )
        assert app.client.get(url, headers=person.auth()).status_code == 200  # the bare domain pins nothing
        me = app.client.get("/api/v1/me", headers={**person.auth(), "Host": f"{theirs}.example.com:8000"})
        assert me.json()["current_organisation_id"] == world.other_org_id


def test_oversized_bodies_are_refused_before_they_are_read(app: Running, world: World) -> None:
    before = _org_name(app, world.org_id)
    url = f"/api/v1/orgs/{world.org_id}"
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    declared = app.client.patch(
        url, content=big, headers={**world.people["owner"].auth(), "Content-Type": "application/json"}
    )
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    streamed = app.client.patch(
        url, content=chunks(), headers={**world.people["owner"].auth(), "Content-Type": "application/json"}
    )
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"
    assert _org_name(app, world.org_id) == before
