"""The OpenAPI document: FastAPI's, plus what it cannot see — the capture endpoint (a plain ASGI handler)
and the ids in paths that the ``Access`` dependency reads itself (``org_id``, ``project_id``)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from belvedere.web.capture import CAPTURE_PATH
from belvedere.web.capture_doc import CAPTURE_PATH_ITEM

_PATH_PARAM = re.compile(r"{(\w+)}")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _declare_path_ids(paths: dict[str, Any]) -> None:
    for path, item in paths.items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            declared = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
            missing = [name for name in _PATH_PARAM.findall(path) if name not in declared]
            operation["parameters"] = [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "title": name.replace("_", " ").title()},
                }
                for name in missing
            ] + operation.get("parameters", [])


def install_openapi(api: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(
                title=api.title, version=api.version, description=api.description, routes=api.routes
            )
            _declare_path_ids(schema["paths"])
            schema["paths"] = {CAPTURE_PATH: CAPTURE_PATH_ITEM, **schema["paths"]}
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
