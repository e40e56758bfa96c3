"""A project's settings page: the tracking snippet with its live "waiting for the first event" check, and
(for admins) the project's name, time zone, privacy, session timeout, allowed domains and exclusions, the
write key's rotation and the project's deletion — each through the JSON API's own handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from belvedere.accounts import projects
from belvedere.accounts.grants import ProjectGrant
from belvedere.accounts.roles import at_least
from belvedere.accounts.settings import ProjectSettings, SavedGoal
from belvedere.auth.securitylog import Origin
from belvedere.platform.db import transaction
from belvedere.platform.errors import BelvedereError
from belvedere.runtime import Runtime
from belvedere.web.access import ProjectAdmin, ProjectViewer, RuntimeDep, request_origin
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect

router = APIRouter(include_in_schema=False)
SETTINGS = "/app/projects/{project_id}/settings"
TIMEZONES = sorted(available_timezones())


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _settings(
    request: Request, runtime: Runtime, grant: ProjectGrant, status: int = 200, **extra: Any
) -> Response:
    with transaction(runtime.sessions) as session:
        details = projects.get_project(session, grant)
    return page(
        request,
        "project_settings.html",
        status,
        **nav(runtime, grant),
        project=grant.project,
        details=details,
        base_url=str(request.base_url).rstrip("/"),
        is_admin=at_least(grant.role, "admin"),
        timezones=TIMEZONES,
        goal_kinds=GOAL_KINDS,
        **extra,
    )


def _act(
    request: Request,
    runtime: Runtime,
    grant: ProjectGrant,
    action: Callable[[Session, Origin], Any],
    done: str,
) -> Response:
    """Run a use case in one transaction; show the page again with a confirmation or the refusal."""
    try:
        with transaction(runtime.sessions) as session:
            action(session, request_origin(request))
    except BelvedereError as exc:
        return _settings(request, runtime, grant, exc.status, error=exc.message)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if not isinstance(p, int))
        return _settings(request, runtime, grant, 422, error=f"{where}: {first['msg']}")
    return _settings(request, runtime, grant, notice=done)


@router.get(SETTINGS)
def settings_page(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    return _settings(request, runtime, grant)


@router.post(SETTINGS)
def save_settings(
    grant: ProjectAdmin,
    request: Request,
    runtime: RuntimeDep,
    name: Annotated[str, Form(max_length=200)],
    timezone: Annotated[str, Form(max_length=64)],
    visitor_id: Annotated[Literal["hash", "none"], Form()] = "hash",
    session_timeout_minutes: Annotated[str, Form(max_length=6)] = "",
    domains: Annotated[str, Form(max_length=20_000)] = "",
    excluded_ips: Annotated[str, Form(max_length=20_000)] = "",
    excluded_paths: Annotated[str, Form(max_length=30_000)] = "",
    currency: Annotated[str, Form(max_length=3)] = "USD",
) -> Response:
    def save(session: Session, _: Origin) -> None:
        timeout = session_timeout_minutes.strip()
        kept = grant.project.settings.model_dump()  # what this form does not show (goals)
        settings = ProjectSettings.model_validate(
            {
                **kept,
                "currency": currency.strip().upper(),
                "visitor_id": visitor_id,
                "session_timeout_minutes": int(timeout) if timeout.isdigit() else None,
                "domains": _lines(domains),
                "excluded_ips": _lines(excluded_ips),
                "excluded_paths": _lines(excluded_paths),
            }
        )
        projects.update_project(
            session,
            grant,
            name=name.strip() or None,
            timezone=timezone,
            settings=settings,
            keys=runtime.projects,
        )

    return _act(request, runtime, grant, save, "Settings saved. New events follow them within a minute.")


GOAL_KINDS = {"event": "A custom event", "page": "Visits to pages", "revenue": "A revenue event"}


@router.post(SETTINGS + "/goals")
def add_goal(
    grant: ProjectAdmin,
    request: Request,
    runtime: RuntimeDep,
    kind: Annotated[Literal["event", "page", "revenue"], Form()],
    target: Annotated[str, Form(max_length=500)],
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """A goal: an event (a revenue one: its `revenue` is money) or a page pattern (``/blog/*``)."""
    target = target.strip()

    def add(session: Session, _: Origin) -> None:
        field = "page" if kind == "page" else "event"
        shown = name.strip() or (f"Visit {target}" if kind == "page" else target)
        goal = SavedGoal.model_validate({"name": shown, field: target, "revenue": kind == "revenue"})
        projects.add_goal(session, grant, goal, keys=runtime.projects)

    return _act(request, runtime, grant, add, "Goal added: the overview's goals panel shows it.")


@router.post(SETTINGS + "/goals/delete")
def remove_goal(
    grant: ProjectAdmin, request: Request, runtime: RuntimeDep, name: Annotated[str, Form(max_length=100)]
) -> Response:
    return _act(
        request,
        runtime,
        grant,
        lambda session, _: projects.remove_goal(session, grant, name, keys=runtime.projects),
        f"Goal {name!r} removed (its events are kept).",
    )


@router.post(SETTINGS + "/write-key")
def rotate_write_key(grant: ProjectAdmin, request: Request, runtime: RuntimeDep) -> Response:
    return _act(
        request,
        runtime,
        grant,
        lambda session, where: projects.rotate_write_key(session, grant, where=where, keys=runtime.projects),
        "A new write key is in place: update the snippet on your site, the old key no longer works.",
    )


@router.post(SETTINGS + "/delete")
def delete_project(
    grant: ProjectAdmin,
    request: Request,
    runtime: RuntimeDep,
    confirm: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if confirm != grant.project.name:
        return _settings(
            request, runtime, grant, 422, error="Type the project's name to confirm its deletion."
        )
    with transaction(runtime.sessions) as session:
        where = request_origin(request)
        projects.delete_project(session, grant, where=where, keys=runtime.projects, store=runtime.store)
    return redirect("/app", request)


@router.get("/app/projects/{project_id}/first-event")
async def first_event(grant: ProjectViewer, request: Request, runtime: RuntimeDep) -> Response:
    """Polled by the settings page until the project's first event is stored."""
    count = await run_in_threadpool(runtime.store.count_events, project_id=grant.project.id)
    # 286 tells HTMX to stop polling: once the first event is in, there is nothing left to wait for.
    return page(request, "_first_event.html", 286 if count else 200, seen=count > 0, project=grant.project)
