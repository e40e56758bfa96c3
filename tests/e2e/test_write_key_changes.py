"""Issue #26's two bugs, against a real server whose capture workers answer capture (and, for comparison,
one without workers): a rotated write key, and the keys of a deleted organisation, stop working at once in
every process — they used to be taken for up to 30 s more (the key cache), and the deleted organisation's
events were stored after its data had been deleted."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tests.e2e.server_kit import Server

pytestmark = pytest.mark.slow
EVENT = {"event": "signed_up", "distinct_id": "u1"}


def _owner(server: Server, name: str) -> tuple[dict[str, str], int]:
    body = {
        "email": f"{name}@example.test",
        "password": "a long and unusual passphrase 42",
        "organisation": name,
    }
    created = httpx.post(f"{server.url}/api/v1/auth/signup", json=body).json()
    return {"Authorization": f"Bearer {created['access_token']}"}, created["organisation"]["id"]


def _capture_statuses(server: Server, key: str, times: int = 12) -> set[int]:
    """Statuses of ``times`` capture requests on separate connections (spread over the workers)."""
    statuses = set()
    for _ in range(times):
        with httpx.Client(base_url=server.url) as client:
            answer = client.post("/api/v1/capture", json=EVENT, headers={"Authorization": f"Bearer {key}"})
            statuses.add(answer.status_code)
    return statuses


@pytest.mark.parametrize("workers", ["2", "0"])
def test_old_and_deleted_write_keys_stop_at_once_in_every_process(tmp_path: Path, workers: str) -> None:
    # A long cache, so that only the invalidation can explain a refusal.
    server = Server(
        tmp_path, BELVEDERE_SERVER__CAPTURE_WORKERS=workers, BELVEDERE_INGEST__KEY_CACHE_SECONDS="600"
    ).start()
    try:
        auth, org_id = _owner(server, "acme")
        made = httpx.post(f"{server.url}/api/v1/orgs/{org_id}/projects", json={"name": "Site"}, headers=auth)
        project = made.json()
        old_key = project["write_key"]
        assert _capture_statuses(server, old_key) == {202}  # every process has cached the key
        rotated = httpx.post(f"{server.url}/api/v1/projects/{project['project_id']}/write-key", headers=auth)
        new_key = rotated.json()["write_key"]
        assert _capture_statuses(server, old_key) == {401}
        assert _capture_statuses(server, new_key) == {202}

        gone = httpx.delete(f"{server.url}/api/v1/orgs/{org_id}", headers=auth)
        assert gone.status_code == 204
        assert _capture_statuses(server, new_key) == {401}
    finally:
        server.stop()
