"""FastAPI dependencies: the running app's parts and the project a read key grants."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from belvedere.accounts.service import ProjectInfo, find_project_by_api_key
from belvedere.platform.db import transaction
from belvedere.runtime import Runtime

_bearer = HTTPBearer(auto_error=False, description="A project read key (`bk_…`).")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_project(
    project_id: int,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ProjectInfo:
    if credentials is None:
        raise HTTPException(401, "Send a project read key as `Authorization: Bearer <key>`.")
    with transaction(runtime.sessions) as session:
        project = find_project_by_api_key(session, api_key=credentials.credentials)
    if project is None:
        raise HTTPException(401, "Unknown or revoked API key.")
    if project.id != project_id:
        raise HTTPException(403, "This key belongs to another project.")
    return project


CurrentProject = Annotated[ProjectInfo, Depends(get_project)]
