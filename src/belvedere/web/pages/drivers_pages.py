"""The funnel page's "What goes with converting" panel: the ``conversion_drivers`` kind asked of the funnel's
first and last steps — the people who did the first step's event in the period, converting being doing the
last step's — over the page's filters. Loaded after the funnel, from the same URL query.

It is not the funnel's own conversion: order and window do not apply, and a step's filter is kept only as a
page pattern of page views (``path`` of a ``$pageview`` step); the panel says so whenever it differs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from belvedere.query.kinds.conversion_drivers import ConversionDriversResult, Driver
from belvedere.web.access import ProjectViewer, RuntimeDep
from belvedere.web.pages import conditions
from belvedere.web.pages.asking import answer
from belvedere.web.pages.funnel_pages import BASE, funnel_form, funnel_query
from belvedere.web.pages.render import page

router = APIRouter(include_in_schema=False)
SHOWN = 10
_PAGEVIEW = "$pageview"


def _goal(step: dict[str, Any]) -> tuple[Any, bool]:
    """The step as a goal, and whether that is the whole step (its filter kept)."""
    (only,) = step["filters"] or [None]
    if only is None:
        return step["event"], True
    if step["event"] == _PAGEVIEW and only["property"] == "path" and str(only["value"]).startswith("/"):
        return {"page": only["value"]}, True
    return step["event"], False


@router.get(BASE + "/funnels/drivers")
async def drivers(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    where = conditions.parse(request.query_params, legacy=False)
    funnel = funnel_query(funnel_form(request))
    steps = funnel["steps"]
    if len(steps) < 2:
        return Response(status_code=204)
    goal, whole = _goal(steps[-1])
    body: dict[str, Any] = {
        "kind": "conversion_drivers",
        "date_from": funnel["date_from"],
        "goal": goal,
        "population": steps[0]["event"],
        "limit": SHOWN,
        "filters": where.filters(),
    }
    if "date_to" in funnel:
        body["date_to"] = funnel["date_to"]
    found, error = await answer(runtime, grant, body)
    result = found.result if found else None
    assert result is None or isinstance(result, ConversionDriversResult)
    return page(
        request,
        "_drivers.html",
        result=result,
        error=error,
        first=steps[0]["event"],
        last=steps[-1]["event"],
        partial=not whole or bool(steps[0]["filters"]),
        # A feature everyone had compares them with nobody: not shown.
        rows=[_row(d) for d in result.drivers if d.rate_without is not None] if result else [],
    )


def _row(d: Driver) -> dict[str, Any]:
    what = f"did {d.value}" if d.feature == "event" else f"{d.property} is {d.value or '(none)'}"
    direction = "more" if d.odds_ratio > 1 else "less"
    return {
        "what": what,
        "with": f"{d.rate_with:.1f} % of {d.converted_with + d.others_with:,}",
        "without": f"{d.rate_without:.1f} %",
        "odds": f"{d.odds_ratio:.2f} ({d.lower:.2f} to {d.upper:.2f})",
        "verdict": f"converts {direction}" if d.significant else "within chance",
        "significant": d.significant,
    }
