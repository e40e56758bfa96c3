"""The findings of one project for one day. Each finder asks the query layer (the same kinds the API
answers) and keeps what passed its test: anomalies as the ``anomalies`` kind flags them, movers that
``root_cause`` finds significant after Benjamini-Hochberg control over every value tried, referrers with
visitors this week and none in the four weeks before. A finding's ``fingerprint`` names what it is about,
so that the daily run never writes the same one twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from scipy.stats import false_discovery_control, fisher_exact

from belvedere.insights.feed.rules import RECOMMENDATIONS
from belvedere.query.kinds.anomalies import AnomaliesResult
from belvedere.query.kinds.breakdown import BreakdownResult
from belvedere.query.kinds.funnel.spec import FunnelResult, StepResult
from belvedere.query.kinds.retention import RetentionResult
from belvedere.query.kinds.root_cause import RootCauseResult
from belvedere.query.runner import QueryResult

Ask = Callable[[dict[str, Any]], QueryResult]

ANOMALY_DAYS = 3  # the last complete days whose anomalies are reported (a day late run still finds them)
MAX_MOVERS = 5
MOVER_SHARE = 0.2  # a mover's visitors changed by this share of its visitors before, at least
NEW_REFERRER_VISITORS = 3  # at least this many visitors in the week for a referrer to be news
LABELS = {
    "channel": "Channel",
    "referrer_domain": "Referrer",
    "utm_source": "UTM source",
    "utm_campaign": "UTM campaign",
    "country": "Country",
    "device_type": "Device",
    "browser": "Browser",
    "os": "OS",
    "path": "Page",
}
MAX_FUNNELS = 10  # saved funnels compared per run
RETENTION_WEEKS = 8  # weekly cohorts read for the retention finding
# A saved funnel's options that the step comparison leaves out (it compares the steps alone).
_FUNNEL_EXTRAS = ("date_from", "date_to", "breakdown", "breakdown_limit", "over_time", "time_to_convert")
MOVER_DIMENSIONS = ("channel", "referrer_domain", "utm_campaign", "country", "device_type", "path")
METRICS = {"unique_users": "Visitors", "total": "Page views"}


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # anomaly, mover, new_referrer
    fingerprint: str
    title: str
    body: str
    severity: str  # high, medium, low
    direction: str  # up, down
    evidence: dict[str, Any] = field(default_factory=dict)  # {"query": …, "link": …}

    @property
    def recommendation(self) -> str:
        return RECOMMENDATIONS[(self.kind, self.direction)]


def _pct(after: float, before: float) -> str:
    return f"{(after - before) * 100 / before:+.0f} %" if before else "from none"


def _q(q: float) -> str:
    return "q < 0.001" if q < 0.001 else f"q = {q:.3f}"


def anomalies(ask: Ask, project_id: int, last: date) -> list[Finding]:
    spec = {
        "kind": "anomalies",
        "interval": "day",
        "date_from": (last - timedelta(days=ANOMALY_DAYS - 1)).isoformat(),
        "date_to": last.isoformat(),
        "sensitivity": "medium",
        "series": [{"event": "$pageview", "math": m} for m in METRICS],
    }
    result = ask(spec)
    assert isinstance(result, AnomaliesResult)
    found = []
    for series in result.series:
        metric = METRICS[series.math]
        for point in series.points:
            if not point.anomaly or not point.complete or point.expected is None or point.direction is None:
                continue
            day = point.date[:10]
            word = "above" if point.direction == "up" else "below"
            severity = "high" if abs(point.score or 0) >= 6 else "medium"
            link = (
                f"/app/projects/{project_id}/trends?event=%24pageview&math={series.math}&period=30d"
                "&interval=day&anomalies=1"
            )
            found.append(
                Finding(
                    kind="anomaly",
                    fingerprint=f"anomaly:{series.math}:{day}",
                    title=f"{metric} on {day}: {point.value:,.0f}, {word} the expected {point.expected:,.0f}",
                    body=f"The usual range for that day was {point.lower:,.0f} to {point.upper:,.0f}"
                    f" ({_pct(point.value, point.expected)} against the expected value).",
                    severity=severity,
                    direction=point.direction,
                    evidence={"query": spec, "link": link},
                )
            )
    return found


def movers(ask: Ask, project_id: int, last: date) -> list[Finding]:
    first = last - timedelta(days=6)
    spec = {
        "kind": "root_cause",
        "series": {"event": "$pageview", "math": "unique_users"},
        "date_from": first.isoformat(),
        "date_to": last.isoformat(),
        "baseline": "previous_period",
        "dimensions": list(MOVER_DIMENSIONS),
    }
    result = ask(spec)
    assert isinstance(result, RootCauseResult)
    # Beyond chance is not enough on big numbers (3 % more visitors from France is significant, and no
    # news): a mover also changed by a fifth at least.
    moved = [
        (d.dimension, v)
        for d in result.dimensions
        for v in d.values
        if v.significant
        and v.value not in (None, "$other")
        and abs(v.change) >= MOVER_SHARE * max(v.before, 1)
    ]
    moved.sort(key=lambda dv: (-abs(dv[1].change), dv[0], str(dv[1].value)))
    found = []
    for dimension, v in moved[:MAX_MOVERS]:
        direction = "up" if v.change > 0 else "down"
        label = LABELS.get(dimension, dimension)
        verb = "rose" if direction == "up" else "fell"
        everyone = f"; all visitors went from {result.before:,} to {result.after:,}"
        where = urlencode([("period", "7d"), ("compare", "previous"), ("f", f"{dimension}|eq|{v.value}")])
        link = f"/app/projects/{project_id}?{where}"
        found.append(
            Finding(
                kind="mover",
                fingerprint=f"mover:{dimension}:{v.value}:{direction}:{last.isoformat()}",
                title=f"Visitors from {label.lower()} {v.value} {verb} from {v.before:,} to {v.after:,}",
                body=f"Over the 7 days to {last.isoformat()} against the 7 days before"
                f" ({_pct(v.after, v.before)}{everyone}); the chance this is noise, with every value tried"
                f" counted: {_q(v.q_value)}.",
                severity="medium" if abs(v.change) >= 0.1 * max(result.before, 1) else "low",
                direction=direction,
                evidence={"query": spec, "link": link},
            )
        )
    return found


def new_referrers(ask: Ask, project_id: int, last: date) -> list[Finding]:
    week = (last - timedelta(days=6), last)
    before = (week[0] - timedelta(days=28), week[0] - timedelta(days=1))

    def spec(span: tuple[date, date]) -> dict[str, Any]:
        return {
            "kind": "breakdown",
            "dimension": "referrer_domain",
            "date_from": span[0].isoformat(),
            "date_to": span[1].isoformat(),
            "limit": 1000,
        }

    recent, earlier = ask(spec(week)), ask(spec(before))
    assert isinstance(recent, BreakdownResult) and isinstance(earlier, BreakdownResult)
    known = {row.value for row in earlier.results}
    found = []
    for row in recent.results:
        if row.value is None or row.value in known or row.visitors < NEW_REFERRER_VISITORS:
            continue
        link = f"/app/projects/{project_id}?" + urlencode(
            [("period", "7d"), ("f", f"referrer_domain|eq|{row.value}")]
        )
        found.append(
            Finding(
                kind="new_referrer",
                fingerprint=f"new_referrer:{row.value}",
                title=f"New referrer: {row.value} sent {row.visitors:,} visitors",
                body=f"In the 7 days to {last.isoformat()}; it sent none in the 4 weeks before.",
                severity="low",
                direction="up",
                evidence={"query": spec(week), "link": link},
            )
        )
    return found


def funnel_steps(
    ask: Ask, project_id: int, last: date, funnels: list[tuple[int, str, dict[str, Any]]]
) -> list[Finding]:
    """Each saved funnel's step conversions over the last 7 days against the 7 before: Fisher's exact
    test per step (people who went on, against those who stopped), Benjamini-Hochberg over every step of
    every funnel tried; a finding when the change is beyond chance and at least one percentage point."""
    week = (last - timedelta(days=6), last)
    before = (week[0] - timedelta(days=7), week[0] - timedelta(days=1))
    tried: list[tuple[int, str, dict[str, Any], StepResult, StepResult, StepResult, StepResult, float]] = []
    for insight_id, name, query in funnels[:MAX_FUNNELS]:
        spec = {k: v for k, v in query.items() if k not in _FUNNEL_EXTRAS}

        def over(span: tuple[date, date], spec: dict[str, Any] = spec) -> dict[str, Any]:
            return {**spec, "date_from": span[0].isoformat(), "date_to": span[1].isoformat()}

        now, then = ask(over(week)), ask(over(before))
        assert isinstance(now, FunnelResult) and isinstance(then, FunnelResult)
        for i in range(1, min(len(now.steps), len(then.steps))):
            a, b, c, d = now.steps[i - 1], now.steps[i], then.steps[i - 1], then.steps[i]
            if not a.users or not c.users:
                continue
            table = [[b.users, a.users - b.users], [d.users, c.users - d.users]]
            p_value = float(fisher_exact(table).pvalue)
            tried.append((insight_id, name, over(week), a, b, c, d, p_value))
    if not tried:
        return []
    adjusted = false_discovery_control([t[-1] for t in tried], method="bh")
    found = []
    for (insight_id, name, spec, a, b, c, d, _), q in zip(tried, adjusted, strict=True):
        rate_now, rate_then = 100 * b.users / a.users, 100 * d.users / c.users
        if q >= 0.05 or abs(rate_now - rate_then) < 1:
            continue
        direction = "up" if rate_now > rate_then else "down"
        verb = "rose" if direction == "up" else "fell"
        found.append(
            Finding(
                kind="funnel",
                fingerprint=f"funnel:{insight_id}:{b.step}:{direction}:{last.isoformat()}",
                title=f"{name}: {a.event} → {b.event} {verb} from {rate_then:.1f} % to {rate_now:.1f} %",
                body=f"Over the 7 days to {last.isoformat()}: {b.users:,} of {a.users:,} people went on,"
                f" against {d.users:,} of {c.users:,} the 7 days before; the chance this is noise, every step"
                f" of every funnel tried counted: {_q(float(q))}.",
                severity="medium" if abs(rate_now - rate_then) >= 5 else "low",
                direction=direction,
                evidence={"query": spec, "link": f"/app/projects/{project_id}/insights/{insight_id}"},
            )
        )
    return found


def retention(ask: Ask, project_id: int, last: date) -> list[Finding]:
    """The week-1 retention of the latest weekly cohort whose week 1 is over, against the (up to 6) cohorts
    before it pooled: Fisher's exact test; a finding beyond chance (p < 0.05) and by 2 points or more."""
    spec = {
        "kind": "retention",
        "date_from": (last - timedelta(weeks=RETENTION_WEEKS)).isoformat(),
        "date_to": last.isoformat(),
        "period": "week",
        "periods": 1,
    }
    result = ask(spec)
    assert isinstance(result, RetentionResult)
    cohorts = result.cohorts
    # A cohort's week 1 is the next cohort's week; it is over once that is not the week under way.
    complete = [
        c
        for i, c in enumerate(cohorts[:-1])
        if c.size and c.values[1] is not None and cohorts[i + 1].cohort != result.current
    ]
    if len(complete) < 2:
        return []
    latest, earlier = complete[-1], complete[-7:-1]
    back, size = int(latest.values[1] or 0), latest.size
    back_before, size_before = sum(int(c.values[1] or 0) for c in earlier), sum(c.size for c in earlier)
    if not size_before:
        return []
    p_value = float(fisher_exact([[back, size - back], [back_before, size_before - back_before]]).pvalue)
    rate, rate_before = 100 * back / size, 100 * back_before / size_before
    if p_value >= 0.05 or abs(rate - rate_before) < 2:
        return []
    direction = "up" if rate > rate_before else "down"
    return [
        Finding(
            kind="retention",
            fingerprint=f"retention:{latest.cohort}:{direction}",
            title=f"Week-1 retention of the people who started in the week of {latest.cohort[:10]}:"
            f" {rate:.1f} %, against {rate_before:.1f} % before",
            body=f"{back:,} of {size:,} came back the week after, against {back_before:,} of {size_before:,}"
            f" in the {len(earlier)} weekly cohorts before (Fisher's exact test: p = {p_value:.3g}).",
            severity="medium" if abs(rate - rate_before) >= 5 else "low",
            direction=direction,
            evidence={"query": spec, "link": f"/app/projects/{project_id}/retention"},
        )
    ]


def cohorts_grown(project_id: int, cohorts: list[CohortSize]) -> list[Finding]:
    """Pattern cohorts (power users, churn risk, conversion opportunities) whose last computation found a
    fifth more people than the one before, and 5 more at least."""
    found = []
    for c in cohorts:
        if c.previous is None or c.count < c.previous * 1.2 or c.count - c.previous < 5:
            continue
        found.append(
            Finding(
                kind="cohort",
                fingerprint=f"cohort:{c.cohort_id}:{c.computed_on.isoformat()}",
                title=f"Cohort {c.name} grew from {c.previous:,} to {c.count:,} people",
                body=f"{c.what}; computed on {c.computed_on.isoformat()} against the computation before.",
                severity="medium" if c.pattern == "churn_risk" else "low",
                direction="up",
                evidence={"query": c.query, "link": f"/app/projects/{project_id}/cohorts"},
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class CohortSize:
    """A pattern cohort's last two sizes, as the feed reads them from the metadata."""

    cohort_id: int
    name: str
    pattern: str
    what: str
    count: int
    previous: int | None
    computed_on: date
    query: dict[str, Any]


FINDERS: tuple[Callable[[Ask, int, date], list[Finding]], ...] = (anomalies, movers, new_referrers, retention)


def findings(
    ask: Ask,
    project_id: int,
    last: date,
    funnels: list[tuple[int, str, dict[str, Any]]] | None = None,
    cohorts: list[CohortSize] | None = None,
) -> list[Finding]:
    """Every finder's findings for the days up to ``last`` (the project's last complete day); ``funnels``:
    the project's saved funnels (id, name, query), whose steps are compared week on week; ``cohorts``: its
    pattern cohorts' sizes."""
    found = [f for finder in FINDERS for f in finder(ask, project_id, last)]
    return (
        found + funnel_steps(ask, project_id, last, funnels or []) + cohorts_grown(project_id, cohorts or [])
    )
