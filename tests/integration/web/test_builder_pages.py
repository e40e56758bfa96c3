"""Issue #27: any question from the web app — the filter menu (any field, any operator, several values, in
the URL), the trend builder (series by math, formula, breakdown, per-series filters, displays, compare, save
and reopen), lifecycle, usage and the SQL editor."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from tests.integration.accounts.kit import build_world
from tests.integration.capture_kit import Running

from belvedere.web.pages.funnel_pages import funnel_link


def _visits(app: Running, key: str, visits: list[tuple[str, str, list[str]]]) -> int:
    """(anonymous id, browser user agent, page paths) per visitor; returns how many events were sent."""
    batch = []
    for person, agent, paths in visits:
        for p in paths:
            batch.append(
                {
                    "type": "page",
                    "distinct_id": person,
                    "context": {"page": {"url": f"https://x.example{p}"}, "user_agent": agent},
                }
            )
    response = app.client.post(
        "/api/v1/capture", json={"batch": batch}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.json()["accepted"] == len(batch)
    return len(batch)


FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
VISITS = [
    ("ann", FIREFOX, ["/", "/blog/one", "/blog/two"]),
    ("bob", CHROME, ["/", "/pricing"]),
    ("cat", CHROME, ["/blog/one"]),
]


def _rows(text: str) -> list[list[str]]:
    """Every table row's cells, as text."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", text, flags=re.S)
    return [
        [html.unescape(c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, flags=re.S)]
        for r in rows
    ]


def _kpi(text: str, name: str) -> str:
    found = re.search(rf'data-kpi="{name}">([^<]+)<', text)
    assert found, f"no {name} figure"
    return found.group(1)


def test_the_filter_menu_takes_any_condition_into_the_url(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    sent = _visits(app, world.write_key, VISITS)
    assert app.wait_stored(sent, world.project_id) == sent
    base = f"/app/projects/{world.project_id}"
    assert _kpi(app.client.get(f"{base}?period=7d", headers=viewer).text, "pageviews") == "6"

    def added(field: str, op: str, value: str) -> str:
        asked = {"period": "7d", "nf_field": field, "nf_op": op, "nf_value": value}
        moved = app.client.get(f"{base}?{urlencode(asked)}", headers=viewer, follow_redirects=False)
        assert moved.status_code == 303
        return str(moved.headers["location"])

    contains = added("path", "contains", "blog")
    assert contains == f"{base}?period=7d&f=path%7Ccontains%7Cblog"
    shown = app.client.get(contains, headers=viewer).text
    assert _kpi(shown, "pageviews") == "3"
    assert "Remove the filter Page contains blog" in shown
    # Several values of "is": either of them; written as the row clicks write them.
    either = added("path", "eq", "/, /pricing")
    assert either == f"{base}?period=7d&path=%2F&path=%2Fpricing"
    assert _kpi(app.client.get(either, headers=viewer).text, "pageviews") == "3"
    # "is not", a regular expression, and a condition on a second field: all must hold.
    both = app.client.get(f"{base}?period=7d&f=path%7Cneq%7C%2F&f=browser%7Cregex%7C%5EChr", headers=viewer)
    assert _kpi(both.text, "pageviews") == "2"  # bob's /pricing and cat's /blog/one
    unset = app.client.get(f"{base}?period=7d&f=utm_source%7Cis_set%7C", headers=viewer)
    assert "No events in this period" in unset.text
    # A condition the engine cannot take is left out, and the page says which and why.
    broken = app.client.get(f"{base}?period=7d&f=path%7Cregex%7C(unclosed", headers=viewer)
    assert broken.status_code == 200 and _kpi(broken.text, "pageviews") == "6"
    assert "A filter was left out (path|regex|(unclosed): not a valid regular expression" in broken.text
    unknown = app.client.get(f"{base}?period=7d&f=password%7Ceq%7Cx", headers=viewer)
    assert "unknown field &#39;password&#39;" in unknown.text
    # The panels and their details keep the conditions.
    panel = app.client.get(f"{base}/panels/pages?period=7d&f=path%7Ccontains%7Cblog", headers=viewer)
    assert "/pricing" not in panel.text and "/blog/two" in panel.text


def _form(series: list[dict[str, str]], **rest: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for s in series:
        out += [(k, s.get(k, "")) for k in ("event", "math", "prop", "sf", "so", "sv")]
    return out + list(rest.items())


def _chart(text: str) -> dict[str, object]:
    found = re.search(r'data-chart="([^"]+)"', text)
    assert found, "no chart"
    return dict(json.loads(html.unescape(found.group(1))))


def _hidden_query(text: str) -> dict[str, object]:
    found = re.search(r'name="query" value="([^"]+)"', text)
    assert found, "nothing to save"
    return dict(json.loads(html.unescape(found.group(1))))


def test_the_trend_builder_asks_any_trend_and_saves_it(app: Running) -> None:
    world = build_world(app)
    member = world.people["member"].auth()
    sent = _visits(app, world.write_key, VISITS)
    assert app.wait_stored(sent, world.project_id) == sent
    base = f"/app/projects/{world.project_id}/trends"
    first = app.client.get(base, headers=member)
    assert (
        first.status_code == 200 and 'aria-current="page">Trends' in first.text
    )  # people per day, by default

    views = {"event": "$pageview"}
    people = {"event": "$pageview", "math": "unique_users"}
    asked = _form([views, people], formula="A / B", display="number", period="7d")
    shown = app.client.get(f"{base}?{urlencode(asked)}", headers=member)
    assert shown.status_code == 200
    figures = re.findall(r'<h3>([^<]+)</h3><p class="value">([^<]+)</p>', shown.text)
    assert figures == [("Page view (count)", "6"), ("Page view (people)", "3"), ("A / B", "2")]

    # A breakdown, a per-series condition, as a table and as a pie.
    blog = {**people, "sf": "path", "so": "contains", "sv": "blog"}
    table = app.client.get(
        f"{base}?{urlencode(_form([blog], breakdown='browser', display='table'))}", headers=member
    )
    rows = sorted(r[0] for r in _rows(table.text)[1:])
    assert rows == ["Page view (people) · Chrome", "Page view (people) · Firefox"]
    pie = app.client.get(
        f"{base}?{urlencode(_form([blog], breakdown='browser', display='pie'))}", headers=member
    )
    slices = _chart(pie.text)["series"][0]["data"]  # type: ignore[index]
    assert sorted((s["name"], s["value"]) for s in slices) == [
        ("Page view (people) · Chrome", 1),
        ("Page view (people) · Firefox", 1),
    ]
    # A line, compared with the period before: the earlier one drawn dashed beside it.
    line = app.client.get(
        f"{base}?{urlencode(_form([views], compare='previous', period='7d'))}", headers=member
    )
    drawn = _chart(line.text)
    assert [s.get("dashed", False) for s in drawn["series"]] == [False, True]  # type: ignore[union-attr]
    assert sum(drawn["series"][0]["data"]) == 6  # type: ignore[index]

    # What cannot be computed says why, on the page.
    wrong = app.client.get(
        f"{base}?{urlencode(_form([{'event': '$pageview', 'math': 'sum'}]))}", headers=member
    )
    assert wrong.status_code == 422 and "needs a math_property" in wrong.text

    # Saved, then reopened in the builder with the same question.
    question = _hidden_query(shown.text)
    assert question["totals"] is True and question["formula"] == "A / B"
    saved = app.client.post(
        f"/app/projects/{world.project_id}/insights",
        data={"name": "Views per person", "query": json.dumps(question)},
        headers=member,
        follow_redirects=False,
    )
    assert saved.status_code == 303
    insight = app.client.get(saved.headers["location"], headers=member).text
    link = re.search(r'href="(/app/projects/\d+/trends\?[^"]+)">Open in the trend builder', insight)
    assert link, "a saved trend reopens in the builder"
    reopened = dict(parse_qsl(html.unescape(link.group(1)).split("?", 1)[1], keep_blank_values=True))
    assert reopened["formula"] == "A / B" and reopened["period"] == "7d"
    again = app.client.get(
        html.unescape(link.group(1)).replace("display=line", "display=number"), headers=member
    )
    assert re.findall(r'<h3>([^<]+)</h3><p class="value">([^<]+)</p>', again.text)[-1] == ("A / B", "2")


def test_the_trend_builder_takes_a_custom_range(app: Running) -> None:
    """As the overview does (``period=custom&from=…&to=…``): fixed days whatever today is, an interval that
    suits their length, and a saved question of fixed days reopens as that range."""
    world = build_world(app)
    member = world.people["member"].auth()
    sent = _visits(app, world.write_key, VISITS)
    assert app.wait_stored(sent, world.project_id) == sent
    base = f"/app/projects/{world.project_id}/trends"
    today = datetime.now(UTC).date()
    first, last = (today - timedelta(days=10)).isoformat(), (today + timedelta(days=1)).isoformat()
    views = {"event": "$pageview"}
    asked = _form([views], breakdown="browser", period="custom", to=first, **{"from": last})  # either order
    shown = app.client.get(f"{base}?{urlencode(asked)}", headers=member)
    assert shown.status_code == 200 and f"From {first} to {last}" in shown.text
    drawn = _chart(shown.text)
    assert len(drawn["labels"]) == 12  # type: ignore[arg-type]  # a day each
    assert sum(sum(s["data"]) for s in drawn["series"]) == 6  # type: ignore[union-attr, index]
    question = _hidden_query(shown.text)
    assert (question["date_from"], question["date_to"]) == (first, last)
    assert question.get("interval", "day") == "day"
    # Unusable dates: the default period.
    wrong = app.client.get(f"{base}?{urlencode(_form([views], period='custom', to='soon'))}", headers=member)
    assert wrong.status_code == 200 and _hidden_query(wrong.text)["date_from"] == "-29d"

    saved = app.client.post(
        f"/app/projects/{world.project_id}/insights",
        data={"name": "Views by browser", "query": json.dumps(question)},
        headers=member,
        follow_redirects=False,
    )
    insight = app.client.get(saved.headers["location"], headers=member).text
    link = re.search(r'href="(/app/projects/\d+/trends\?[^"]+)">Open in the trend builder', insight)
    assert link, "a saved trend of fixed days reopens in the builder"
    reopened = dict(parse_qsl(html.unescape(link.group(1)).split("?", 1)[1], keep_blank_values=True))
    assert (reopened["period"], reopened["from"], reopened["to"]) == ("custom", first, last)


def test_event_pickers_load_their_names_when_first_used(app: Running) -> None:
    """The overview and the builder do not count the project's event names (90 days) for their pickers:
    the datalist asks for them when a picker is first used."""
    world = build_world(app)
    member = world.people["member"].auth()
    sent = _visits(app, world.write_key, VISITS)
    assert app.wait_stored(sent, world.project_id) == sent
    base = f"/app/projects/{world.project_id}"
    asked: list[str] = []
    ask = app.runtime.desk.ask

    async def counting(grant, spec, **kw):  # type: ignore[no-untyped-def]
        asked.append(spec.kind + (f" by {spec.breakdown}" if getattr(spec, "breakdown", None) else ""))
        return await ask(grant, spec, **kw)

    app.runtime.desk.ask = counting  # type: ignore[method-assign]
    try:
        overview = app.client.get(f"{base}?period=7d", headers=member).text
        builder = app.client.get(
            f"{base}/trends?{urlencode(_form([{'event': '$pageview'}]))}", headers=member
        )
        assert asked == ["stats", "trends", "trends"]  # figures and chart; the builder's chart
        assert f'hx-get="{base}/event-names"' in overview and 'id="goal-events"' in overview
        assert f'hx-get="{base}/event-names"' in builder.text and "Any event</option>" in builder.text
        names = app.client.get(f"{base}/event-names", headers=member)
        assert names.status_code == 200 and names.text.strip() == '<option value="$pageview"></option>'
        assert asked[-1] == "trends by event"
    finally:
        del app.runtime.desk.ask


def test_lifecycle_usage_and_the_sql_editor(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    sent = _visits(app, world.write_key, VISITS)
    assert app.wait_stored(sent, world.project_id) == sent
    base = f"/app/projects/{world.project_id}"
    lifecycle = app.client.get(f"{base}/lifecycle?period=7d&interval=day", headers=viewer)
    assert lifecycle.status_code == 200
    new = next(r for r in _rows(lifecycle.text) if r and r[0] == "New")
    assert sum(int(v) for v in new[1:]) == 3  # ann, bob and cat: new today
    sticky = app.client.get(f"{base}/stickiness?period=7d&interval=day", headers=viewer)
    assert sticky.status_code == 200
    assert _rows(sticky.text)[1:3] == [["1 day", "3"], ["2 days", "0"]]  # ann, bob and cat: today only
    # 3 people on 1 of 7 days: 3/7 a day on average, 14.3 % of the 3.
    said = " ".join(sticky.text.split())
    assert (
        "On average <strong>0.4</strong> people were active each day: <strong>14.3 %</strong> of the 3"
        in said
    )
    usage = app.client.get(f"{base}/usage?period=30d&interval=month", headers=viewer)
    assert usage.status_code == 200 and "Churned" in usage.text

    query = "SELECT path, count(*) AS n FROM events GROUP BY path ORDER BY n DESC, path"
    ran = app.client.get(f"{base}/sql?{urlencode({'q': query})}", headers=viewer)
    assert ran.status_code == 200 and "4 rows" in ran.text
    assert _rows(ran.text)[1:3] == [["/", "2"], ["/blog/one", "2"]]
    reading = urlencode({"q": "SELECT * FROM read_csv('/etc/passwd')"})
    refused = app.client.get(f"{base}/sql?{reading}", headers=viewer)
    assert refused.status_code == 422 and "did not run" in refused.text and "root:" not in refused.text
    # Another organisation's project: not found, whatever the page.
    theirs = world.people["outsider"].auth()
    for path in ("trends", "lifecycle", "stickiness", "usage", "sql"):
        assert app.client.get(f"{base}/{path}", headers=theirs).status_code == 404


def test_the_sql_editor_says_which_plan_includes_it(app: Running) -> None:
    world = build_world(app, plan="free")
    viewer = world.people["viewer"].auth()
    shown = app.client.get(f"/app/projects/{world.project_id}/sql?q=SELECT+1", headers=viewer)
    assert shown.status_code == 422 and "does not include &#39;sql&#39;" in shown.text


def test_every_analysis_page_takes_the_filter_menu(app: Running) -> None:
    world = build_world(app)
    member = world.people["member"].auth()
    sent = _visits(app, world.write_key, VISITS)
    assert app.wait_stored(sent, world.project_id) == sent
    base = f"/app/projects/{world.project_id}"
    chrome = "f=browser%7Ceq%7CChrome"
    funnel = "step=%24pageview&field=path&value=&step=%24pageview&field=path&value=%2Fpricing&period=7d"
    for path in (
        f"retention?{chrome}",
        f"paths?{chrome}",
        f"funnels?{funnel}&{chrome}",
        f"lifecycle?{chrome}",
    ):
        shown = app.client.get(f"{base}/{path}", headers=member)
        assert shown.status_code == 200, path
        assert "Remove the filter Browser is Chrome" in shown.text, path
        asked = _hidden_query(shown.text)
        assert asked["filters"] == [{"property": "browser", "value": "Chrome"}], path  # "eq" is the default
    # The funnel's first step counts only Chrome's people (bob, cat); it reopens from its insight filtered.
    funnel_page = app.client.get(f"{base}/funnels?{funnel}&{chrome}", headers=member).text
    first = next(
        r for r in _rows(funnel_page.split('id="funnel-title"', 1)[1]) if r and r[0].startswith("1.")
    )
    assert re.sub(r"<[^>]+>", "", first[1]) == "2"
    link = funnel_link(_hidden_query(funnel_page))
    assert link is not None and link.endswith("&f=browser%7Ceq%7CChrome")
    # The people list: Chrome's two people of the three.
    people = app.client.get(f"{base}/users?period=7d&browser=Chrome", headers=member).text
    assert "2 people active in this period" in people and "Remove the filter Browser is Chrome" in people
