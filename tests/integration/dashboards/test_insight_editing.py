"""Issue #27: a saved insight can be reopened, edited and renamed — from its page and through the API, its
question checked exactly as the query API checks it and kept to its kind (its widgets still draw it)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl

from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running

from belvedere.dashboards.models import Insight
from belvedere.platform.db import transaction


def _stored(app: Running, insight_id: int) -> Insight:
    with transaction(app.runtime.sessions) as session:
        item = session.get(Insight, insight_id)
        assert item is not None
        session.expunge(item)
        return item


def test_the_api_renames_an_insight_and_changes_its_question_within_its_kind(app: Running) -> None:
    world = build_world(app)
    url = f"/api/v1/projects/{world.project_id}/insights/{world.insight_id}"
    member = world.people["member"].auth()
    renamed = app.client.patch(url, json={"name": "  Weekly KPIs "}, headers=member)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Weekly KPIs"
    changed = app.client.patch(url, json={"query": {"kind": "stats", "date_from": "-29d"}}, headers=member)
    assert changed.status_code == 200 and changed.json()["query"]["date_from"] == "-29d"
    other_kind = app.client.patch(url, json={"query": {"kind": "paths"}}, headers=member)
    assert (
        other_kind.status_code == 422
        and "save a paths one as a new insight" in other_kind.json()["error"]["message"]
    )
    invalid = app.client.patch(url, json={"query": {"kind": "stats", "date_from": "soon"}}, headers=member)
    assert invalid.status_code == 422 and invalid.json()["error"]["message"].startswith("query.date_from")
    assert _stored(app, world.insight_id).query["date_from"] == "-29d"  # the refusals changed nothing
    viewer = app.client.patch(url, json={"name": "Mine"}, headers=world.people["viewer"].auth())
    assert viewer.status_code == 403


def test_the_page_renames_edits_and_reopens_a_funnel_in_its_builder(app: Running) -> None:
    world = build_world(app)
    base = f"/app/projects/{world.project_id}"
    member = world.people["member"].auth()
    built = (
        "step=%24pageview&field=path&value=%2Fpricing&step=signup&field=path&value="
        "&window=86400&order=ordered&period=7d"
    )
    builder = app.client.get(f"{base}/funnels?{built}", headers=member)
    query = unescape(re.search(r'name="query" value="([^"]+)"', builder.text).group(1))  # type: ignore[union-attr]
    saved = app.client.post(
        f"{base}/insights",
        data={"name": "Pricing to signup", "query": query},
        headers=member,
        follow_redirects=False,
    )
    insight_id = int(saved.headers["location"].rsplit("/", 1)[1])
    shown = app.client.get(f"{base}/insights/{insight_id}", headers=member).text
    link = unescape(
        re.search(r'href="(/app/projects/\d+/funnels\?[^"]+)">Open in the funnel builder', shown).group(1)
    )  # type: ignore[union-attr]
    assert sorted(parse_qsl(link.split("?", 1)[1], keep_blank_values=True)) == sorted(
        parse_qsl(built, keep_blank_values=True)
    )
    reopened = app.client.get(link, headers=member).text
    assert unescape(re.search(r'name="query" value="([^"]+)"', reopened).group(1)) == query  # type: ignore[union-attr]

    renamed = app.client.post(
        f"{base}/insights/{insight_id}/rename", data={"name": "Pricing funnel"}, headers=member
    )
    assert renamed.status_code in (200, 303) and _stored(app, insight_id).name == "Pricing funnel"
    question = (
        '{"kind": "funnel", "steps": [{"event": "$pageview"}, {"event": "signup"}], "date_from": "-29d"}'
    )
    app.client.post(f"{base}/insights/{insight_id}/question", data={"query": question}, headers=member)
    assert _stored(app, insight_id).query["date_from"] == "-29d"
    wrong = app.client.post(
        f"{base}/insights/{insight_id}/question", data={"query": '{"kind": "stats"}'}, headers=member
    )
    assert wrong.status_code == 422 and "save a stats one as a new insight" in wrong.text
    broken = app.client.post(
        f"{base}/insights/{insight_id}/question", data={"query": "{nope"}, headers=member
    )
    assert broken.status_code == 422 and "Not a JSON query" in broken.text
