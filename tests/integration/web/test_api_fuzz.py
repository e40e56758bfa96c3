"""Issue #25: schemathesis reads `/openapi.json` and sends every operation generated requests — bodies,
query strings and headers that fit the schema, then ones that break it — as an organisation owner whose ids
fill the path, against the real app. No answer may be a 500, and every JSON error must be the envelope."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Ok
from tests.integration.accounts.kit import World, build_world, fast_settings
from tests.integration.capture_kit import running

EXAMPLES = 40  # per operation and mode
SHARDS = 3  # operations split over tests, so that pytest-xdist runs them side by side
LOOSE = {"auth": {"public_requests_per_hour": 100_000, "login_ip_attempts": 100_000}}


def _ids(world: World) -> dict[str, object]:
    return {
        "org_id": world.org_id,
        "project_id": world.project_id,
        "insight_id": world.insight_id,
        "dashboard_id": world.dashboard_id,
        "widget_id": world.widget_id,
        "invitation_id": world.invitation_id,
        "key_id": world.key_id,
        "user_id": world.people["viewer"].user_id,
    }


def _check(case: Case, world: World) -> None:
    headers = {**(case.headers or {}), **world.people["owner"].auth()}
    if case.path == "/api/v1/capture":
        headers["Authorization"] = f"Bearer {world.write_key}"
    response = case.call(headers=headers)
    where = f"{case.method} {case.formatted_path}"
    assert response.status_code != 500, (where, case.body, response.text[:500])
    if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
        error = response.json().get("error")
        assert isinstance(error, dict) and {"code", "message"} <= error.keys(), (where, response.text[:500])


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_request_gets_a_bare_500(tmp_path: Path, shard: int, mode: GenerationMode) -> None:
    with running(fast_settings(tmp_path, **LOOSE)) as app:
        world = build_world(app)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app.client.app)
        operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
        assert len(operations) > 50  # the whole API, not an empty schema
        # Deletions last, the deepest first, so that the organisation outlives what the others need.
        operations.sort(key=lambda op: (op.method.upper() == "DELETE", -len(op.path)))
        ids = _ids(world)
        for operation in operations[shard::SHARDS]:
            names = re.findall(r"{(\w+)}", operation.path)
            strategy = operation.as_strategy(mode, path_parameters={n: ids[n] for n in names if n in ids})

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                _check(case, world)

            try:
                run()
            except Unsatisfiable:  # no parameter or body to break (a GET with its ids fixed)
                assert mode is GenerationMode.NEGATIVE, operation.label
