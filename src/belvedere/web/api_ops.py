"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from belvedere.web.access import RuntimeDep

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness of the metadata DB, event store and spool", response_model=None)
def ready(runtime: RuntimeDep) -> JSONResponse:
    checks = runtime.health()
    body: dict[str, Any] = {
        "status": "ok" if all(c.ok for c in checks) else "unavailable",
        "components": {
            c.name: {"status": "ok" if c.ok else "failing", "latency_ms": round(c.latency_ms, 3), **c.detail}
            for c in checks
        },
    }
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(runtime: RuntimeDep) -> Response:
    return Response(runtime.metrics.render(runtime.worker_metrics), media_type=CONTENT_TYPE_LATEST)
