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

from belvedere.accounts.grants import Grant
from belvedere.accounts.models import Project
from belvedere.accounts.roles import at_least
from belvedere.accounts.service import project_json
from belvedere.platform.db import transaction
from belvedere.runtime import Runtime
from belvedere.web import api_projects
from belvedere.web.access import Admin, RuntimeDep, Viewer
from belvedere.web.errors import ApiError
from belvedere.web.pages.project_pages import nav
from belvedere.web.pages.render import page, redirect

router = APIRouter(include_in_schema=False)
SETTINGS = "/app/projects/{project_id}/settings"
TIMEZONES = sorted(available_timezones())


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


def _settings(request: Request, runtime: Runtime, grant: Grant, status: int = 200, **extra: Any) -> Response:
    assert grant.project is not None
    with transaction(runtime.sessions) as session:
        project = session.get(Project, grant.project.id)
        assert project is not None
        details = project_json(project)
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
        **extra,
    )


def _act(request: Request, runtime: Runtime, grant: Grant, action: Callable[[], Any], done: str) -> Response:
    try:
        action()
    except ApiError as exc:
        return _settings(request, runtime, grant, exc.status, error=exc.message)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if not isinstance(p, int))
        return _settings(request, runtime, grant, 422, error=f"{where}: {first['msg']}")
    return _settings(request, runtime, grant, notice=done)


@router.get(SETTINGS)
def settings_page(grant: Viewer, request: Request, runtime: RuntimeDep) -> Response:
    return _settings(request, runtime, grant)


@router.post(SETTINGS)
def save_settings(
    grant: Admin,
    request: Request,
    runtime: RuntimeDep,
    name: Annotated[str, Form(max_length=200)],
    timezone: Annotated[str, Form(max_length=64)],
    visitor_id: Annotated[Literal["hash", "none"], Form()] = "hash",
    session_timeout_minutes: Annotated[str, Form(max_length=6)] = "",
    domains: Annotated[str, Form(max_length=20_000)] = "",
    excluded_ips: Annotated[str, Form(max_length=20_000)] = "",
    excluded_paths: Annotated[str, Form(max_length=30_000)] = "",
) -> Response:
    def save() -> None:
        timeout = session_timeout_minutes.strip()
        body = api_projects.ProjectPatch.model_validate(
            {
                "name": name,
                "timezone": timezone,
                "settings": {
                    "visitor_id": visitor_id,
                    "session_timeout_minutes": int(timeout) if timeout.isdigit() else None,
                    "domains": _lines(domains),
                    "excluded_ips": _lines(excluded_ips),
                    "excluded_paths": _lines(excluded_paths),
                },
            }
        )
        api_projects.update(body, grant, runtime)

    return _act(request, runtime, grant, save, "Settings saved. New events follow them within a minute.")


@router.post(SETTINGS + "/write-key")
def rotate_write_key(grant: Admin, request: Request, runtime: RuntimeDep) -> Response:
    return _act(
        request,
        runtime,
        grant,
        lambda: api_projects.rotate_write_key(grant, request, runtime),
        "A new write key is in place: update the snippet on your site, the old key no longer works.",
    )


@router.post(SETTINGS + "/delete")
def delete_project(
    grant: Admin, request: Request, runtime: RuntimeDep, confirm: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    assert grant.project is not None
    if confirm != grant.project.name:
        return _settings(
            request, runtime, grant, 422, error="Type the project's name to confirm its deletion."
        )
    api_projects.delete(grant, request, runtime)
    return redirect("/app", request)


@router.get("/app/projects/{project_id}/first-event")
async def first_event(grant: Viewer, request: Request, runtime: RuntimeDep) -> Response:
    """Polled by the settings page until the project's first event is stored."""
    assert grant.project is not None
    count = await run_in_threadpool(runtime.store.count_events, project_id=grant.project.id)
    # 286 tells HTMX to stop polling: once the first event is in, there is nothing left to wait for.
    return page(request, "_first_event.html", 286 if count else 200, seen=count > 0, project=grant.project)
