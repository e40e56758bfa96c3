"""Saved insights and dashboards of one project. Every lookup takes the project id, so a row of another
project is simply not found (the web layer has already checked the caller may see that project)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from belvedere.accounts.grants import Grant
from belvedere.accounts.models import Project
from belvedere.accounts.plans import Plans
from belvedere.dashboards.models import Dashboard, Insight, Widget
from belvedere.platform.errors import NotFound
from belvedere.query.kinds import parse_query
from belvedere.query.runner import QuerySpec

# How a widget may draw each insight kind; the first is the default.
DISPLAYS: dict[str, tuple[str, ...]] = {
    "stats": ("number",),
    "trends": ("line", "bar", "number", "table", "pie"),
    "breakdown": ("table", "bar", "map"),
    "funnel": ("funnel", "table"),
    "retention": ("retention",),
    "paths": ("sankey", "table"),
    "lifecycle": ("bar", "table"),
    "stickiness": ("bar", "table"),
    "usage": ("table",),
    "goals": ("table",),
}
DISPLAY_LABELS = {
    "number": "Number",
    "line": "Line chart",
    "bar": "Bar chart",
    "table": "Table",
    "funnel": "Funnel",
    "retention": "Cohort heatmap",
    "sankey": "Sankey diagram",
    "map": "World map",
    "pie": "Pie chart",
}


def stored_query(raw: object) -> dict[str, Any]:
    """A query spec checked exactly as the query API checks it (pydantic ``ValidationError`` otherwise),
    kept as what differs from the defaults, plus its kind."""
    return stored_form(parse_query(raw))


def stored_form(spec: QuerySpec) -> dict[str, Any]:
    """A checked spec as it is saved: what differs from the defaults, plus its kind."""
    return {"kind": spec.kind, **spec.model_dump(mode="json", exclude_defaults=True)}


def insight_json(item: Insight) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "kind": item.kind,
        "query": item.query,
        "created_at": item.created_at.isoformat(),
    }


def dashboard_json(board: Dashboard) -> dict[str, Any]:
    return {
        "id": board.id,
        "name": board.name,
        "shared": board.share_nonce is not None,
        "password": board.share_password_hash is not None,
        "widgets": [
            {
                "id": w.id,
                "insight_id": w.insight_id,
                "display": w.display,
                "width": w.width,
                "position": w.position,
            }
            for w in sorted(board.widgets, key=lambda w: (w.position, w.id))
        ],
    }


def displays_of(item: Insight) -> tuple[str, ...]:
    """How a widget may draw this insight, the default first (a map only for countries)."""
    allowed = DISPLAYS.get(item.kind, ("table",))
    if item.kind == "breakdown" and item.query.get("dimension") != "country":
        allowed = tuple(d for d in allowed if d != "map")
    return allowed


def displays(item: Insight) -> list[tuple[str, str]]:
    """(display, label) pairs a widget of this insight may use, the default first."""
    return [(d, DISPLAY_LABELS[d]) for d in displays_of(item)]


def save_insight(
    session: Session, *, project_id: int, name: str, query: dict[str, Any], user_id: int | None
) -> Insight:
    """``query`` is a validated query spec (``model_dump`` of one of the query kinds)."""
    kind = str(query["kind"])
    if kind not in DISPLAYS:
        raise ValueError(f"a {kind} query cannot be saved as an insight")
    insight = Insight(project_id=project_id, name=name.strip(), kind=kind, query=query, created_by=user_id)
    session.add(insight)
    session.flush()
    return insight


def update_insight(item: Insight, *, name: str | None = None, query: dict[str, Any] | None = None) -> Insight:
    """Rename an insight, or change its question (a validated query spec, see ``stored_query``) within its
    kind: its widgets keep drawing it as they did, on every dashboard."""
    if name is not None:
        if not name.strip():
            raise ValueError("an insight needs a name")
        item.name = name.strip()
    if query is not None:
        if query["kind"] != item.kind:
            raise ValueError(
                f"this insight asks a {item.kind} question; save a {query['kind']} one as a new insight"
            )
        item.query = query
    return item


def insights(session: Session, *, project_id: int, kind: str | None = None) -> list[Insight]:
    stmt = select(Insight).where(Insight.project_id == project_id)
    if kind is not None:
        stmt = stmt.where(Insight.kind == kind)
    return list(session.scalars(stmt.order_by(Insight.name, Insight.id)))


def insight(session: Session, *, project_id: int, insight_id: int) -> Insight | None:
    found = session.get(Insight, insight_id)
    return found if found is not None and found.project_id == project_id else None


def dashboards(session: Session, *, project_id: int) -> list[Dashboard]:
    stmt = select(Dashboard).where(Dashboard.project_id == project_id).order_by(Dashboard.name, Dashboard.id)
    return list(session.scalars(stmt))


def dashboard(session: Session, *, project_id: int, dashboard_id: int) -> Dashboard | None:
    found = session.get(Dashboard, dashboard_id)
    return found if found is not None and found.project_id == project_id else None


def dashboard_count(session: Session, *, organisation_id: int) -> int:
    """Dashboards of every project of the organisation: what the plan's ``dashboards`` limit counts."""
    stmt = (
        select(func.count())
        .select_from(Dashboard)
        .join(Project, Project.id == Dashboard.project_id)
        .where(Project.organisation_id == organisation_id)
    )
    return int(session.scalar(stmt) or 0)


def create_dashboard(session: Session, *, project_id: int, name: str) -> Dashboard:
    board = Dashboard(project_id=project_id, name=name.strip())
    session.add(board)
    session.flush()
    return board


def add_dashboard(session: Session, grant: Grant, *, name: str, plans: Plans) -> Dashboard:
    """The use case: a new dashboard in the grant's project, within the organisation's plan limit (which
    counts the dashboards of all its projects)."""
    if grant.project is None:
        raise NotFound("No such project.")
    plans.check_limit(grant.org.plan, "dashboards", dashboard_count(session, organisation_id=grant.org.id))
    return create_dashboard(session, project_id=grant.project.id, name=name)


def add_widget(session: Session, board: Dashboard, item: Insight, display: str | None = None) -> Widget:
    if item.project_id != board.project_id:
        raise ValueError("the insight belongs to another project")
    allowed = displays_of(item)
    chosen = display or allowed[0]
    if chosen not in allowed:
        raise ValueError(f"a {item.kind} insight can be shown as {', '.join(allowed)}, not {chosen}")
    last = max((w.position for w in board.widgets), default=-1)
    widget = Widget(dashboard_id=board.id, insight_id=item.id, position=last + 1, display=chosen, width=1)
    board.widgets.append(widget)
    session.flush()
    return widget


def widget_of(board: Dashboard, widget_id: int) -> Widget | None:
    return next((w for w in board.widgets if w.id == widget_id), None)


def remove_widget(board: Dashboard, widget_id: int) -> None:
    widget = widget_of(board, widget_id)
    if widget is None:
        raise LookupError("no such widget on this dashboard")
    board.widgets.remove(widget)


def move_widget(board: Dashboard, widget_id: int, steps: int) -> None:
    """Move a widget ``steps`` places (negative: towards the top); positions stay 0…n-1."""
    order = sorted(board.widgets, key=lambda w: (w.position, w.id))
    current = next((i for i, w in enumerate(order) if w.id == widget_id), None)
    if current is None:
        raise LookupError("no such widget on this dashboard")
    target = min(max(current + steps, 0), len(order) - 1)
    order.insert(target, order.pop(current))
    for position, widget in enumerate(order):
        widget.position = position


def arrange(board: Dashboard, widget_ids: list[int]) -> None:
    """Set the order of every widget at once (what a drag and drop sends); the ids must be exactly the
    dashboard's widgets."""
    by_id = {w.id: w for w in board.widgets}
    if sorted(widget_ids) != sorted(by_id):
        raise ValueError("the new order must list each widget of the dashboard once")
    for position, widget_id in enumerate(widget_ids):
        by_id[widget_id].position = position
