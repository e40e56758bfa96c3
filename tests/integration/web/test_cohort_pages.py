"""Cohorts and patterns in the web app: a rule saved from the form is computed and listed with its size and
a link that filters the overview by it; a list of ids too; a pattern's people are saved as a cohort; a bad
form says what is wrong; viewers see no forms; another organisation sees nothing."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running


def _send(app: Running, key: str, events: list[dict[str, object]], project_id: int) -> None:
    r = app.client.post("/api/v1/capture", json={"batch": events}, headers={"Authorization": f"Bearer {key}"})
    assert r.json()["accepted"] == len(events)
    assert app.wait_stored(len(events), project_id) == len(events)


def _settled(app: Running, url: str, auth: dict[str, str]) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = app.client.get(url, headers=auth).text
        if "computing…" not in text:
            return text
        time.sleep(0.1)
    raise AssertionError("cohorts still computing")


def test_cohorts_saved_from_the_pages_and_used_as_a_filter(app: Running) -> None:
    world = build_world(app)
    member, viewer = world.people["member"].auth(), world.people["viewer"].auth()
    yesterday = datetime.now(UTC) - timedelta(days=1)
    days = [int((yesterday - timedelta(days=d)).timestamp() * 1000) for d in range(6)]
    events = [{"event": "buy", "distinct_id": "fan", "timestamp": t} for t in days]  # active 6 days
    events += [{"event": "buy", "distinct_id": "once", "timestamp": days[0]}]
    events += [
        {
            "type": "page",
            "distinct_id": p,
            "timestamp": days[1],
            "context": {"page": {"url": "https://x.example/"}},
        }
        for p in ("fan", "once", "look")
    ]
    _send(app, world.write_key, events, world.project_id)
    base = f"/app/projects/{world.project_id}/cohorts"
    empty = app.client.get(base, headers=member)
    assert empty.status_code == 200 and "No cohort yet" in empty.text
    saved = app.client.post(
        base,
        data={"name": "Repeat buyers", "type": "behaviour", "event": "buy", "min_count": "2", "days": "30"},
        headers={**member, "HX-Request": "true"},
    )
    assert saved.status_code == 204, saved.text
    listed = app.client.post(
        base,
        data={"name": "Picked", "type": "static", "ids": "once, look\nnobody"},
        headers={**member, "HX-Request": "true"},
    )
    assert listed.status_code == 204
    page = _settled(app, base, viewer)
    rows = re.findall(
        r"<tr>\s*<td>(\d+)</td>\s*<td>([^<]+)</td>\s*<td>([^<]+)</td>\s*<td class=\"num\">([^<]+)</td>", page
    )
    assert [(name, who, n.strip()) for _, name, who, n in rows] == [
        ("Repeat buyers", "Did buy at least 2 times in the last 30 days", "1"),
        ("Picked", "A list of 3 ids", "3"),
    ]
    assert "Save cohort" not in page  # viewers read only
    first_id = rows[0][0]
    link = re.search(r'href="([^"]*f=cohort%7Ceq%7C' + first_id + r')"', page)
    assert link, page
    overview = app.client.get(link.group(1).replace("&amp;", "&"), headers=viewer)
    assert overview.status_code == 200
    # The filter shows the cohort's name, and the list of all pages keeps it.
    assert f"Cohort is Repeat buyers (no. {first_id})" in overview.text
    pages_url = f"/app/projects/{world.project_id}/details/page?period=7d&f=cohort%7Ceq%7C{first_id}"
    kept = app.client.get(pages_url, headers=viewer)
    assert kept.status_code == 200 and "left out" not in kept.text
    assert re.findall(r'<td class="num">([\d,]+)</td>', kept.text)[0] == "1"  # "/": fan alone
    # A bad form: said, nothing saved.
    bad = app.client.post(base, data={"name": "Nobody", "type": "static", "ids": " "}, headers=member)
    assert bad.status_code == 422 and "was not saved" in bad.text
    # Patterns: the power user saved as a cohort.
    patterns = app.client.get(f"/app/projects/{world.project_id}/patterns?period=-7d", headers=member)
    assert patterns.status_code == 200, patterns.text
    assert "Power users" in patterns.text and "fan" in patterns.text
    query = re.search(r'name="pattern" value="([^"]+)"', patterns.text)
    assert query
    power = app.client.post(
        base,
        data={
            "name": "Power",
            "type": "pattern",
            "pattern": query.group(1).replace("&#34;", '"').replace("&quot;", '"'),
        },
        headers={**member, "HX-Request": "true"},
    )
    assert power.status_code == 204
    page = _settled(app, base, member)
    assert "Power users, last 7 days" in page
    # Deleted from the page; another organisation reaches nothing.
    assert (
        app.client.post(f"{base}/{first_id}/delete", headers={**member, "HX-Request": "true"}).status_code
        == 204
    )
    assert "<td>Repeat buyers</td>" not in app.client.get(base, headers=member).text
    # A link to the overview filtered by the deleted cohort: the filter is left out, and the page says why
    # (its figures, chart and panels are everyone's, not a silent zero).
    stale = app.client.get(link.group(1).replace("&amp;", "&"), headers=viewer)
    assert f"no cohort {first_id} in this project (deleted?)" in stale.text
    assert "Cohort is Repeat buyers" not in stale.text
    stale_pages = app.client.get(pages_url, headers=viewer)
    assert f"no cohort {first_id} in this project (deleted?)" in stale_pages.text
    assert re.findall(r'<td class="num">([\d,]+)</td>', stale_pages.text)[0] == "3"
    panel = app.client.get(
        f"/app/projects/{world.project_id}/panels/pages?period=7d&f=cohort%7Ceq%7C{first_id}", headers=viewer
    )
    visitors = re.findall(r'<td class="num">([\d,]+)</td>', panel.text)
    assert panel.status_code == 200 and visitors[0] == "3"  # "/": fan, once and look — nobody filtered out
    outsider = world.people["outsider"].auth()
    assert app.client.get(base, headers=outsider).status_code == 404


def test_the_feed_page_lists_pins_dismisses_and_restores(app: Running) -> None:
    from belvedere.insights.feed.finders import Finding
    from belvedere.insights.feed.service import record
    from belvedere.platform.db import transaction

    world = build_world(app)
    member, viewer = world.people["member"].auth(), world.people["viewer"].auth()
    base = f"/app/projects/{world.project_id}/feed"
    empty = app.client.get(base, headers=viewer)
    assert empty.status_code == 200 and "No finding yet" in empty.text
    assert "Read yesterday again now" not in empty.text  # viewers read only
    referrer = {"query": {"kind": "breakdown"}, "link": "/app/projects/1?period=7d"}
    found = [
        Finding("new_referrer", "new_referrer:a.example", "New referrer: a.example sent 5 visitors",
                "In the 7 days.", "low", "up", referrer),
        Finding("anomaly", "anomaly:total:2026-12-01", "Page views on 2026-12-01: 90, above the expected 40",
                "The usual range.", "high", "up", {"query": {"kind": "anomalies"}, "link": "/x"}),
    ]  # fmt: skip
    with transaction(app.runtime.sessions) as session:
        assert (
            record(
                session,
                project_id=world.project_id,
                day=date(2026, 12, 1),
                found=found,
                now=datetime.now(UTC),
            )
            == 2
        )
        assert (
            record(
                session,
                project_id=world.project_id,
                day=date(2026, 12, 2),
                found=found,
                now=datetime.now(UTC),
            )
            == 0
        )
    text = app.client.get(base, headers=member).text
    titles = re.findall(r"<h2>([^<]+)</h2>", text)
    assert titles == [
        "Page views on 2026-12-01: 90, above the expected 40",
        "New referrer: a.example sent 5 visitors",
    ]
    assert "What to do:</strong> A site started sending visitors" in text
    ids = re.findall(r"/feed/(\d+)/pin", text)
    pinned = app.client.post(f"{base}/{ids[1]}/pin", headers={**member, "HX-Request": "true"})
    assert pinned.status_code == 204
    text = app.client.get(base, headers=member).text
    assert re.findall(r"<h2>([^<]+)</h2>", text)[0].startswith("New referrer") and "pinned" in text
    assert (
        app.client.post(f"{base}/{ids[1]}/dismiss", headers={**member, "HX-Request": "true"}).status_code
        == 204
    )
    assert "New referrer" not in app.client.get(base, headers=member).text
    assert "New referrer" in app.client.get(f"{base}?show=dismissed", headers=member).text
    app.client.post(f"{base}/{ids[1]}/restore", headers={**member, "HX-Request": "true"})
    assert "New referrer" in app.client.get(base, headers=member).text
    # Another organisation's member can neither see nor act.
    outsider = world.people["outsider"].auth()
    assert app.client.get(base, headers=outsider).status_code == 404
    other = f"/app/projects/{world.other_project_id}/feed/{ids[0]}/dismiss"
    app.client.post(other, headers={**outsider, "HX-Request": "true"})
    assert "Page views on 2026-12-01" in app.client.get(base, headers=member).text


def test_a_trend_broken_down_by_cohort_in_the_builder(app: Running) -> None:
    """Two saved lists: the builder breaks a trend down by each (the first ten when none is chosen),
    naming its lines after them; a project without cohorts says where to save one."""
    world = build_world(app)
    member = world.people["member"].auth()
    trends = f"/app/projects/{world.project_id}/trends"
    asked = "event=buy&math=total&period=7d&display=number&breakdown=cohort"
    none_yet = app.client.get(f"{trends}?{asked}", headers=member)
    assert none_yet.status_code == 422 and "save one on the Cohorts page" in none_yet.text
    yesterday = int((datetime.now(UTC) - timedelta(days=1)).timestamp() * 1000)
    events = [{"event": "buy", "distinct_id": who, "timestamp": yesterday} for who in ("a", "a", "b", "c")]
    _send(app, world.write_key, events, world.project_id)
    base = f"/app/projects/{world.project_id}/cohorts"
    for name, ids in (("Pair", "a, b"), ("Solo", "c")):
        saved = app.client.post(
            base, data={"name": name, "type": "static", "ids": ids}, headers={**member, "HX-Request": "true"}
        )
        assert saved.status_code == 204
    page = _settled(app, base, member)
    numbers = dict(
        (name, number) for number, name in re.findall(r"<tr>\s*<td>(\d+)</td>\s*<td>([^<]+)</td>", page)
    )
    both = app.client.get(f"{trends}?{asked}", headers=member)
    assert both.status_code == 200, both.text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", both.text))
    assert f"buy (count) · Pair (no. {numbers['Pair']}) 3" in text
    assert f"buy (count) · Solo (no. {numbers['Solo']}) 1" in text
    one = app.client.get(f"{trends}?{asked}&cohort={numbers['Solo']}", headers=member)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", one.text))
    assert "Solo (no." in text and "Pair (no." not in text.split("Show trend")[-1]


def test_a_funnel_broken_down_by_cohort_in_the_builder(app: Running) -> None:
    """a then b: the pair both did a, one of them b; the solo did a alone. Each cohort's funnel, by name."""
    world = build_world(app)
    member = world.people["member"].auth()
    funnels = f"/app/projects/{world.project_id}/funnels"
    asked = "step=a&step=b&period=7d&breakdown=cohort"
    none_yet = app.client.get(f"{funnels}?{asked}", headers=member)
    assert none_yet.status_code == 422 and "save one on the Cohorts page" in none_yet.text
    day = datetime.now(UTC) - timedelta(days=1)
    events = [
        {"event": name, "distinct_id": who, "timestamp": int((day + timedelta(minutes=m)).timestamp() * 1000)}
        for who, name, m in (("x", "a", 0), ("x", "b", 5), ("y", "a", 0), ("z", "a", 0))
    ]
    _send(app, world.write_key, events, world.project_id)
    base = f"/app/projects/{world.project_id}/cohorts"
    for name, ids in (("Pair", "x, y"), ("Solo", "z")):
        saved = app.client.post(
            base, data={"name": name, "type": "static", "ids": ids}, headers={**member, "HX-Request": "true"}
        )
        assert saved.status_code == 204
    _settled(app, base, member)
    page = app.client.get(f"{funnels}?{asked}", headers=member)
    assert page.status_code == 200, page.text
    section = page.text.split('id="breakdown-title"')[1].split("</section>")[0]
    rows = [
        re.findall(r"<td[^>]*>([^<]*)</td>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", section, flags=re.S)
        if "<td" in row
    ]
    assert [r[0] for r in rows] == [r[0] for r in rows if "(no. " in r[0]] and len(rows) == 2
    assert {r[0].split(" (no.")[0]: r[1:] for r in rows} == {
        "Pair": ["2", "1", "50.0%"],
        "Solo": ["1", "0", "0.0%"],
    }
    assert "each cohort&#39;s funnel" in section or "each cohort's funnel" in section
