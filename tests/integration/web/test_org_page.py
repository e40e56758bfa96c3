"""Issue #27: the organisation page lists its projects with the events each stored this month (imported
ones too: counted from the event store), and an admin renames the organisation there, an owner deletes it —
through the same use cases as the API, the deletion only once its name is typed."""

from __future__ import annotations

import re

from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running

from belvedere.accounts.models import Organisation
from belvedere.platform.db import transaction


def _org(app: Running, org_id: int) -> Organisation | None:
    with transaction(app.runtime.sessions) as session:
        org = session.get(Organisation, org_id)
        if org is not None:
            session.expunge(org)
        return org


def test_the_projects_and_their_events_this_month(app: Running) -> None:
    world = build_world(app)
    batch = [{"type": "page", "context": {"page": {"url": f"https://x.example/{n}"}}} for n in range(3)]
    app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {world.write_key}"}
    )
    assert app.wait_stored(3, world.project_id) == 3
    page = app.client.get(f"/app/orgs/{world.org_id}/settings", headers=world.people["viewer"].auth())
    assert f'hx-get="/app/orgs/{world.org_id}/settings/projects"' in page.text
    listed = app.client.get(
        f"/app/orgs/{world.org_id}/settings/projects", headers=world.people["viewer"].auth()
    )
    row = re.search(
        rf'<a href="/app/projects/{world.project_id}">Site</a></td><td>UTC</td><td class="num">([^<]+)<',
        listed.text,
    )
    assert row and row.group(1) == "3"
    assert "New project" not in listed.text  # a viewer cannot create one
    theirs = app.client.get(
        f"/app/orgs/{world.org_id}/settings/projects", headers=world.people["outsider"].auth()
    )
    assert theirs.status_code == 404


def test_an_admin_renames_the_organisation(app: Running) -> None:
    world = build_world(app)
    url = f"/app/orgs/{world.org_id}/settings/rename"
    blank = app.client.post(url, data={"name": "   "}, headers=world.people["admin"].auth())
    assert blank.status_code == 422 and "Give the organisation a name" in blank.text
    done = app.client.post(
        url, data={"name": " Acme Labs "}, headers=world.people["admin"].auth(), follow_redirects=False
    )
    assert done.status_code == 303
    org = _org(app, world.org_id)
    assert org is not None and org.name == "Acme Labs"
    assert (
        app.client.post(url, data={"name": "Mine"}, headers=world.people["member"].auth()).status_code == 403
    )


def test_the_owner_deletes_it_once_its_name_is_typed(app: Running) -> None:
    world = build_world(app)
    app.client.post(
        "/api/v1/capture",
        json={"type": "page", "context": {"page": {"url": "https://x.example/"}}},
        headers={"Authorization": f"Bearer {world.write_key}"},
    )
    assert app.wait_stored(1, world.project_id) == 1
    name = _org(app, world.org_id).name  # type: ignore[union-attr]
    url = f"/app/orgs/{world.org_id}/settings/delete"
    owner = world.people["owner"].auth()
    assert (
        app.client.post(url, data={"confirm": name}, headers=world.people["admin"].auth()).status_code == 403
    )
    wrong = app.client.post(url, data={"confirm": name.upper()}, headers=owner)
    assert wrong.status_code == 422 and f"Type the organisation&#39;s name, {name}, to confirm" in wrong.text
    assert _org(app, world.org_id) is not None
    gone = app.client.post(url, data={"confirm": name}, headers=owner, follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/app"
    assert _org(app, world.org_id) is None
    assert app.runtime.store.count_events(project_id=world.project_id) == 0  # its events went with it
    assert _org(app, world.other_org_id) is not None  # and no other organisation
