"""What a new server process prepares before it answers its first request: Python work that every process
does once — compiling the pages' Jinja templates, and building and printing the overview's SQL statements
— done at start rather than while the first visitor waits (at 10 M events, a cold overview spent about a
third of its time there; docs/benchmarks.md).

Nothing here runs a query or fills the answer cache: the statements are compiled once for every date
range (``compile_ranged``), so those compiled for the overview's default period serve any period, and
each answer is still computed when first asked.
"""

from __future__ import annotations

import time

import structlog

from belvedere.accounts.service import list_projects
from belvedere.platform.db import transaction
from belvedere.query import parse_query
from belvedere.query.runner import REGISTRY, DatedRunner, QueryContext
from belvedere.runtime import Runtime
from belvedere.web.pages.project_pages import PANELS, View, _overview_questions, panel_query
from belvedere.web.pages.render import TEMPLATES

log = structlog.get_logger(__name__)
# Each (time zone, saved goals) of the projects is warmed once, up to this many: a statement's text
# depends on both, not on the project.
MAX_WARMED = 16


def warm(runtime: Runtime) -> None:
    started = time.perf_counter()
    templates = warm_templates()
    statements = warm_overview(runtime)
    log.info(
        "server.warmed",
        templates=templates,
        statements=statements,
        ms=round((time.perf_counter() - started) * 1000),
    )


def warm_templates() -> int:
    """Compile every page template (Jinja keeps them for the process)."""
    env = TEMPLATES.env
    names = env.list_templates(extensions=["html"])
    for name in names:
        env.get_template(name)
    return len(names)


def warm_overview(runtime: Runtime) -> int:
    """Compile the statements of the overview's key figures and of its panels' first tabs for the projects'
    time zones and goals, without running them; how many were compiled."""
    with transaction(runtime.sessions) as session:
        projects = [info for info, _, _ in list_projects(session)]
    seen: set[tuple[str, str]] = set()
    compiled = 0
    for project in projects:
        goals = project.settings.goals
        key = (project.timezone, repr(goals))
        if key in seen:
            continue
        if len(seen) == MAX_WARMED:
            break
        seen.add(key)
        view = View()  # the default period: the statements are the same for every period
        questions = [_overview_questions(view)[0]]
        questions += [panel_query(view, tabs[0][0], "", goals) for tabs in PANELS.values()]
        for body in questions:
            spec = parse_query(body)
            ctx = QueryContext(project_id=project.id, timezone=project.timezone, store=runtime.store)
            runner = REGISTRY[spec.kind](spec, ctx)
            if isinstance(runner, DatedRunner):
                compiled += runner.warm()
    return compiled
