"""The project settings page: admins change name, time zone, privacy and filters through the API handler;
the filters then drop events at ingest (other sites, ignored addresses, ignored pages)."""

from __future__ import annotations

import pytest
from tests.integration.accounts.kit import World, build_world
from tests.integration.capture_kit import Running

from belvedere.accounts.models import Project
from belvedere.accounts.settings import ProjectSettings
from belvedere.platform.db import transaction


def _settings_of(app: Running, world: World) -> tuple[str, str, ProjectSettings]:
    with transaction(app.runtime.sessions) as session:
        project = session.get(Project, world.project_id)
        assert project is not None
        return project.name, project.timezone, ProjectSettings.parse(project.settings)


FORM = {
    "name": "Shop",
    "timezone": "Europe/Paris",
    "visitor_id": "hash",
    "session_timeout_minutes": "45",
    "domains": "https://www.Shop.example/\nblog.example",
    "excluded_ips": "203.0.113.0/24, 2001:db8::1",
    "excluded_paths": "/admin/*\n/health",
}


def test_admins_save_settings_and_the_filters_drop_events_at_ingest(app: Running) -> None:
    world = build_world(app)
    url = f"/app/projects/{world.project_id}/settings"
    saved = app.client.post(url, data=FORM, headers=world.people["admin"].auth())
    assert saved.status_code == 200 and "Settings saved" in saved.text, saved.text
    name, timezone, settings = _settings_of(app, world)
    assert (name, timezone, settings.session_timeout_minutes) == ("Shop", "Europe/Paris", 45)
    assert settings.domains == ["shop.example", "blog.example"]
    assert settings.excluded_ips == ["203.0.113.0/24", "2001:db8::1/128"]
    assert settings.excluded_paths == ["/admin/*", "/health"]

    def event(url: str, ip: str = "198.51.100.7") -> dict[str, object]:
        return {"type": "page", "context": {"ip": ip, "page": {"url": url}}}

    batch = [
        event("https://shop.example/"),  # kept
        event("https://news.blog.example/post"),  # kept: a subdomain of an allowed site
        event("https://copycat.example/"),  # another site using the public key: dropped
        event("https://shop.example/pricing", ip="203.0.113.9"),  # the office: dropped
        event("https://shop.example/admin/users"),  # an ignored page: dropped
        {"event": "server_side", "distinct_id": "u1"},  # no page, no IP: kept
    ]
    response = app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert response.status_code == 202
    app.wait_stored(3, world.project_id)
    app.flush()
    rows = app.runtime.store.recent_events(project_id=world.project_id, limit=10)
    assert sorted(r.get("path") or r["event"] for r in rows) == ["/", "/post", "server_side"]
    assert app.runtime.store.count_events(project_id=world.project_id) == 3


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("excluded_ips", "not-an-ip", "not an IP address"),
        ("domains", "bad domain!", "not a domain name"),
        ("excluded_paths", "admin/*", "must be a path starting with /"),
        ("timezone", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_bad_settings_are_explained_and_nothing_changes(
    app: Running, field: str, value: str, message: str
) -> None:
    world = build_world(app)
    before = _settings_of(app, world)
    response = app.client.post(
        f"/app/projects/{world.project_id}/settings",
        data={**FORM, field: value},
        headers=world.people["admin"].auth(),
    )
    assert response.status_code == 422 and message in response.text, response.text
    assert _settings_of(app, world) == before


def test_members_see_the_settings_read_only_and_deletion_needs_the_name(app: Running) -> None:
    world = build_world(app)
    url = f"/app/projects/{world.project_id}/settings"
    page = app.client.get(url, headers=world.people["member"].auth())
    assert (
        page.status_code == 200
        and "Admins and owners can change" in page.text
        and "Save settings" not in page.text
    )
    assert app.client.post(url, data=FORM, headers=world.people["member"].auth()).status_code == 403
    owner = world.people["owner"].auth()
    wrong = app.client.post(f"{url}/delete", data={"confirm": "site"}, headers=owner)
    assert wrong.status_code == 422 and _settings_of(app, world)[0] == "Site"
    gone = app.client.post(f"{url}/delete", data={"confirm": "Site"}, headers=owner, follow_redirects=False)
    assert gone.status_code == 303
    assert app.client.get(url, headers=owner).status_code == 404


def test_replacing_the_write_key_from_the_page(app: Running) -> None:
    world = build_world(app)
    page = app.client.post(
        f"/app/projects/{world.project_id}/settings/write-key", headers=world.people["admin"].auth()
    )
    assert page.status_code == 200 and "A new write key is in place" in page.text
    assert world.write_key not in page.text
    old = app.client.post(
        "/api/v1/capture", json={"event": "x"}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert old.status_code == 401
