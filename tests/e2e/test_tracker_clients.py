"""Other products' official Node clients, unchanged, pointed at a real `belvedere serve` by their host and
the project's write key: Segment's `@segment/analytics-node`, PostHog's `posthog-node` and `@umami/node`
(installed by the test command into tests/e2e/clients). Each sends a visit — a page, events, an identify
that links the anonymous id (Umami has none: it counts visitors by a hash) — and the query API then answers
with its names, properties, pages and one person."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.e2e.server_kit import Server, cli
from tests.waiting import eventually

pytestmark = pytest.mark.slow

CLIENTS = Path(__file__).resolve().parent / "clients"

SEGMENT = """
const { Analytics } = require('@segment/analytics-node');
const [url, key] = process.argv.slice(1);
const analytics = new Analytics({ writeKey: key, host: url, maxEventsInBatch: 2, flushInterval: 50 });
let failed = null;
analytics.on('error', (e) => { failed = e; });
analytics.page({ anonymousId: 'anon-s', name: 'Pricing',
  context: { page: { url: 'https://shop.example/pricing', referrer: 'https://www.google.com/' } } });
analytics.track({ anonymousId: 'anon-s', event: 'Added to cart', properties: { sku: 'A-1' } });
analytics.identify({ userId: 'user-s', anonymousId: 'anon-s', traits: { plan: 'pro' } });
analytics.track({ userId: 'user-s', event: 'Order completed', properties: { revenue: 49.5 } });
analytics.closeAndFlush({ timeout: 10000 }).then(() => {
  if (failed) { console.error(String(failed && (failed.reason || failed.code || failed))); process.exit(1); }
});
"""

POSTHOG = """
const { PostHog } = require('posthog-node');
const [url, key] = process.argv.slice(1);
const client = new PostHog(key, { host: url, flushAt: 2, flushInterval: 50 });
let failed = null;
client.on('error', (e) => { failed = e; });
client.capture({ distinctId: 'anon-p', event: '$pageview',
  properties: { $current_url: 'https://shop.example/docs' } });
client.capture({ distinctId: 'anon-p', event: 'clicked', properties: { button: 'buy' } });
client.alias({ distinctId: 'user-p', alias: 'anon-p' });
client.capture({ distinctId: 'user-p', event: 'paid', properties: { plan: 'pro' } });
client.shutdown(10000).then(() => {
  if (failed) { console.error(String(failed)); process.exit(1); }
});
"""

UMAMI = """
const { Umami } = require('@umami/node');
const [url, key] = process.argv.slice(1);
const umami = new Umami();
umami.init({ websiteId: key, hostUrl: url });
(async () => {
  const answers = [
    await umami.track({ hostname: 'shop.example', url: '/blog/launch', referrer: 'https://t.co/x',
      title: 'Launch' }),
    await umami.track('download', { file: 'guide.pdf' }),
    await umami.identify({ plan: 'pro' }),
  ];
  const bad = answers.filter((a) => a.status !== 200);
  if (bad.length) { console.error(await bad[0].text()); process.exit(1); }
})();
"""


def _run(script: str, url: str, key: str) -> None:
    done = subprocess.run(
        ["node", "-e", script, url, key], cwd=CLIENTS, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr + done.stdout


def _events(server: Server, project: dict[str, Any]) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/api/v1/projects/{project['project_id']}/events?limit=100",
        headers={"Authorization": f"Bearer {project['read_key']}"},
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["results"]
    return found


def _people(server: Server, project: dict[str, Any]) -> int:
    response = httpx.post(
        f"{server.url}/api/v1/projects/{project['project_id']}/query",
        json={"kind": "trends", "date_from": "-1d", "series": [{"math": "unique_users"}], "totals": True},
        headers={"Authorization": f"Bearer {project['read_key']}"},
    )
    return int(response.json()["series"][0]["total"])


@pytest.mark.parametrize(
    ("name", "script", "count"), [("segment", SEGMENT, 5), ("posthog", POSTHOG, 4), ("umami", UMAMI, 3)]
)
def test_an_official_node_client_works_unchanged(tmp_path: Path, name: str, script: str, count: int) -> None:
    created = cli(tmp_path, "project", "create", "--name", "Shop", "--json")
    assert created.returncode == 0, created.stderr
    project = orjson.loads(created.stdout)
    server = Server(tmp_path, BELVEDERE_WRITER__FLUSH_INTERVAL_MS="50").start()
    try:
        _run(script, server.url, project["write_key"])
        assert eventually(lambda: len(_events(server, project)) == count, timeout=15, interval=0.2)
        events = {e["event"]: e for e in _events(server, project)}
        if name == "segment":
            assert set(events) == {"$pageview", "Added to cart", "$identify", "$alias", "Order completed"}
            view = events["$pageview"]
            assert (view["path"], view["referrer_domain"], view["channel"]) == (
                "/pricing",
                "google.com",
                "Organic Search",
            )
            assert events["Added to cart"]["properties"]["sku"] == "A-1"
            assert events["Order completed"]["revenue"] == 49.5
        elif name == "posthog":
            assert set(events) == {"$pageview", "clicked", "$alias", "paid"}
            assert events["$pageview"]["path"] == "/docs"
            assert events["clicked"]["properties"]["button"] == "buy"
            assert events["paid"]["properties"]["$lib"] == "posthog-node"
        else:  # Umami counts visitors without ids: its events have the visitor hash, no person to link
            assert set(events) == {"$pageview", "download", "$session_data"}
            view = events["$pageview"]
            assert (view["host"], view["path"], view["referrer_domain"]) == (
                "shop.example",
                "/blog/launch",
                "t.co",
            )
            assert events["download"]["properties"] == {"file": "guide.pdf"}
            assert events["$session_data"]["properties"] == {"plan": "pro"}
            return
        assert _people(server, project) == 1  # the anonymous id linked to the user
    finally:
        server.stop()
