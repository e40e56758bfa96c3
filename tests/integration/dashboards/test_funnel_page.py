"""Issue #27: the funnel page's exclusions, breakdown, people lists and charts, through the app with real
stores; the question stays in the URL and a saved funnel reopens in the builder as it was asked."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl

from tests.integration.accounts.kit import World, build_world
from tests.integration.capture_kit import Running
from tests.integration.dashboards.test_dashboards import DAY, _capture_journeys, _cells, at

from belvedere.web.pages.funnel_pages import funnel_link
from belvedere.web.pages.periods import dates


def _url(world: World, query: str) -> str:
    return f"/app/projects/{world.project_id}/funnels?period=30d&window=86400&{query}"


STEPS = "step=%24pageview&field=path&value=%2F&step=signup&field=path&value=&step=purchase&field=path&value="


def _with_a_refund(app: Running, world: World) -> None:
    """A (who bought) asked for a refund between signing up and buying."""
    _capture_journeys(app, world)
    body = {"event": "refund_request", "distinct_id": "A", "timestamp": at(DAY, "10:01:30")}
    app.client.post("/api/v1/capture", json=body, headers={"Authorization": f"Bearer {world.write_key}"})
    assert app.wait_stored(7, world.project_id) == 7


def test_an_exclusion_and_a_breakdown_from_the_url(app: Running) -> None:
    world = build_world(app)
    _with_a_refund(app, world)
    viewer = world.people["viewer"].auth()
    query = (
        f"{STEPS}&exclude=refund_request&exclude_from=2&exclude_to=3&breakdown=property&breakdown_property=x"
    )
    page = app.client.get(_url(world, query), headers=viewer)
    assert page.status_code == 200, page.text
    rows = _cells(page.text.split('id="funnel-title"', 1)[1])
    assert [r[1] for r in rows] == ["3", "2", "0"]  # A's refund request spoils its purchase
    assert 'value="refund_request"' in page.text  # the exclusion stays in the form, a blank row after it
    builder = page.text.split('aria-label="Add a filter"', 1)[0]  # the menu's form keeps the page's state too
    assert builder.count('name="exclude"') == 2
    by_value = _cells(page.text.split('id="breakdown-title"', 1)[1])
    assert by_value == [["(none)", "3", "2", "0", "0.0%"]]
    assert page.text.count("data-chart=") == 2  # steps and over time; nobody to time
    assert "Nobody went from step 1 to step 3 in this period." in page.text
    saved = re.search(r'name="query" value="([^"]+)"', page.text)
    assert saved is None  # a viewer cannot save


def test_each_count_links_to_its_people_and_each_person_to_their_page(app: Running) -> None:
    world = build_world(app)
    _capture_journeys(app, world)
    viewer = world.people["viewer"].auth()
    page = app.client.get(_url(world, STEPS), headers=viewer).text
    links = dict(re.findall(r'<a href="([^"]+)" aria-label="([^"]+)"', page))
    by_label = {label: html.unescape(href) for href, label in links.items()}
    assert set(by_label) == {
        "3 reached step 1",
        "2 reached step 2",
        "1 reached step 3",
        "1 dropped off before step 2",
        "1 dropped off before step 3",
    }
    dropped = app.client.get(
        f"/app/projects/{world.project_id}/funnels{by_label['1 dropped off before step 3']}", headers=viewer
    )
    assert dropped.status_code == 200
    people = dropped.text.split('id="people-title"', 1)[1]
    assert "Dropped off before step 3: purchase" in people
    assert f'href="/app/projects/{world.project_id}/person?id=B"' in people
    reached = app.client.get(
        f"/app/projects/{world.project_id}/funnels{by_label['3 reached step 1']}", headers=viewer
    ).text.split('id="people-title"', 1)[1]
    assert re.findall(r"person\?id=(\w)", reached) == ["A", "B", "C"]
    # The list's own links keep the question and drop the list.
    closed = re.search(r'<a href="([^"]+)">Close the list</a>', reached)
    assert closed and "people_step" not in closed.group(1) and "step=signup" in html.unescape(closed.group(1))


def test_bad_options_explain_what_to_change(app: Running) -> None:
    world = build_world(app)
    viewer = world.people["viewer"].auth()
    page = app.client.get(_url(world, f"{STEPS}&exclude=signup&exclude_from=1&exclude_to=2"), headers=viewer)
    assert page.status_code == 422
    assert "also one of the steps" in page.text and "Change the steps or options above" in page.text


def test_a_saved_funnel_with_exclusions_and_a_breakdown_reopens_in_the_builder() -> None:
    query = {
        "kind": "funnel",
        "steps": [
            {"event": "$pageview", "filters": [{"property": "path", "value": "/"}]},
            {"event": "signup"},
        ],
        **dates("30d"),
        "exclusions": [{"event": "refund_request", "from_step": 1, "to_step": 2}],
        "breakdown": "properties.plan",
    }
    params = dict(parse_qsl(funnel_link(query) or "", keep_blank_values=True))
    assert params["exclude"] == "refund_request" and params["exclude_to"] == "2"
    assert (params["breakdown"], params["breakdown_property"]) == ("property", "plan")
    assert funnel_link({**query, "breakdown": "path"}) is None  # not in the builder's list
    with_filter = {
        **query,
        "exclusions": [{**query["exclusions"][0], "filters": [{"property": "path", "value": "/"}]}],
    }
    assert funnel_link(with_filter) is None
