"""The ASGI application: a lean dispatcher sends capture traffic to the plain ASGI handler and everything
else to FastAPI; one wrapper times every request for the latency histogram."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping, MutableMapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from opentelemetry.trace import SpanKind
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from belvedere import __version__
from belvedere.config import Settings
from belvedere.platform import tracing
from belvedere.platform.errors import BelvedereError
from belvedere.platform.logging import configure_logging
from belvedere.platform.metrics import RouteTimer
from belvedere.runtime import Runtime
from belvedere.web import (
    api_alerts,
    api_annotations,
    api_auth,
    api_cohorts,
    api_dashboards,
    api_events,
    api_feed,
    api_jobs,
    api_me,
    api_ops,
    api_orgs,
    api_projects,
    api_query,
    compat_capture,
    tracker,
)
from belvedere.web.body_limit import BodyTooLarge, declared_too_large, read_capped
from belvedere.web.capture import CAPTURE_PATH, CaptureEndpoint
from belvedere.web.client_address import ClientAddress
from belvedere.web.compat_capture import CompatEndpoint
from belvedere.web.errors import (
    STATUS_CODES,
    UNEXPECTED,
    ApiError,
    error_body,
    request_id_of,
    send_error,
    unexpected_error,
)
from belvedere.web.headers import response_headers
from belvedere.web.openapi import install_openapi
from belvedere.web.pages import (
    account_pages,
    alert_editor,
    alert_pages,
    analysis_pages,
    annotation_pages,
    auth_pages,
    channel_pages,
    cohort_pages,
    dashboard_pages,
    details_pages,
    drivers_pages,
    events_pages,
    explore_pages,
    feed_pages,
    funnel_pages,
    insight_pages,
    job_pages,
    my_account_pages,
    notification_pages,
    org_pages,
    people_pages,
    project_pages,
    projection_pages,
    realtime_pages,
    settings_pages,
    share_pages,
    trends_pages,
    why_pages,
)
from belvedere.web.pages.render import TEMPLATES, error_page
from belvedere.web.proxy import peer_from_worker
from belvedere.web.query_door import QueryDoor
from belvedere.web.tracker import STATIC

log = structlog.get_logger(__name__)


def _json_error(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    # Every answer has its X-Request-Id header; a server-side failure repeats it in the body, for the report.
    request_id = request_id_of(request.scope) if status >= 500 else None
    body = error_body(code, message, details, request_id)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _install_error_handlers(api: FastAPI) -> None:
    """Every error is the JSON envelope (an HTML page for page routes), with the request id."""

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = STATUS_CODES.get(exc.status_code, "error")
        return _json_error(request, exc.status_code, code, str(exc.detail), headers=exc.headers)

    @api.exception_handler(BelvedereError)
    async def refused(request: Request, exc: BelvedereError) -> Response:
        if not request.url.path.startswith("/api/"):  # a page: an HTML answer, or the login page
            return error_page(request, exc.status, exc.message)
        return _json_error(request, exc.status, exc.code, exc.message, exc.details, headers=exc.headers)

    @api.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        return _json_error(request, 422, "invalid_request", "The request is not valid; see details.", details)

    @api.exception_handler(IntegrityError)
    async def conflict(request: Request, exc: IntegrityError) -> Response:
        # Two requests raced to create the same thing (a unique name, a membership): one of them lost.
        log.info("request.conflict", request_id=request_id_of(request.scope), error=str(exc.orig)[:200])
        message = "Another request changed the same thing at the same moment; reload it and retry."
        return _answer(request, ApiError(409, "conflict", message))

    @api.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> Response:
        log.warning("request.database_unavailable", request_id=request_id_of(request.scope), error=str(exc))
        message = "The database is busy or unreachable; retry in a few seconds."
        return _answer(request, ApiError(503, "unavailable", message, headers={"Retry-After": "5"}))

    @api.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # Starlette's outermost middleware answers with this, then re-raises; BelvedereApp logs it.
        return _answer(request, ApiError(500, "internal_error", UNEXPECTED))

    def _answer(request: Request, exc: ApiError) -> Response:
        if not request.url.path.startswith("/api/"):
            message = f"{exc.message} (request id {request_id_of(request.scope)})"
            return error_page(request, exc.status, message)
        return _json_error(request, exc.status, exc.code, exc.message, headers=exc.headers)


def build_api(
    runtime: Runtime,
    *,
    manage_runtime: bool,
    on_started: Callable[[], object] | None = None,
    on_stopping: Callable[[], object] | None = None,
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            await asyncio.to_thread(runtime.start)
        if on_started is not None:
            on_started()
        upkeep = asyncio.create_task(runtime.maintain_forever())
        try:
            yield
        finally:
            upkeep.cancel()
            await runtime.desk.settle()
            if on_stopping is not None:
                await asyncio.to_thread(on_stopping)
            if manage_runtime:
                await asyncio.to_thread(runtime.stop)

    api = FastAPI(
        title="Belvedere",
        version=__version__,
        description="Self-hostable product & web analytics. Events go to `POST /api/v1/capture` "
        "(see docs/api.md); everything else is described here.",
        lifespan=lifespan,
        docs_url=None,  # served below from vendored files, not from a CDN
        redoc_url=None,
    )
    api.state.runtime = runtime
    api.state.query_door = QueryDoor(runtime.gate)

    @api.get("/docs", include_in_schema=False)
    async def api_docs(request: Request) -> Response:
        return TEMPLATES.TemplateResponse(request, "api_docs.html", {})

    _install_error_handlers(api)

    for module in (
        api_ops,
        api_auth,
        api_me,
        api_orgs,
        api_projects,
        api_events,
        api_query,
        api_dashboards,
        api_annotations,
        api_alerts,
        api_cohorts,
        api_feed,
        api_jobs,
        tracker,
    ):
        api.include_router(module.router)
    api.include_router(auth_pages.router)
    api.include_router(account_pages.router)
    api.include_router(my_account_pages.router)
    api.include_router(project_pages.router)
    api.include_router(details_pages.router)
    api.include_router(annotation_pages.router)
    api.include_router(realtime_pages.router)
    api.include_router(org_pages.router)
    api.include_router(job_pages.router)
    api.include_router(insight_pages.router)
    api.include_router(funnel_pages.router)
    api.include_router(analysis_pages.router)
    api.include_router(trends_pages.router)
    api.include_router(why_pages.router)
    api.include_router(cohort_pages.router)
    api.include_router(feed_pages.router)
    api.include_router(projection_pages.router)
    api.include_router(drivers_pages.router)
    api.include_router(explore_pages.router)
    api.include_router(events_pages.router)
    api.include_router(people_pages.router)
    api.include_router(settings_pages.router)
    api.include_router(dashboard_pages.router)
    # The channels and the editor first: their fixed paths (``alerts/channels``, ``alerts/new``) before
    # ``alerts/{rule_id}``.
    api.include_router(channel_pages.router)
    api.include_router(alert_editor.router)
    api.include_router(alert_pages.router)
    api.include_router(notification_pages.router)
    api.include_router(share_pages.router)
    api.mount("/static", StaticFiles(directory=STATIC), name="static")
    if runtime.settings.cors_origins:
        api.add_middleware(
            CORSMiddleware,
            allow_origins=runtime.settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token"],
            expose_headers=["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"],
        )
    install_openapi(api)
    return api


class BelvedereApp:
    def __init__(
        self,
        runtime: Runtime,
        *,
        manage_runtime: bool = True,
        on_started: Callable[[], object] | None = None,
        on_stopping: Callable[[], object] | None = None,
    ) -> None:
        """``on_started`` runs once the runtime has started, before the first request (the server
        process settles its heap there: ``platform.heap``, and starts its capture workers);
        ``on_stopping`` at shutdown, before the runtime stops (the capture workers stop there)."""
        self.runtime = runtime
        self.api = build_api(
            runtime, manage_runtime=manage_runtime, on_started=on_started, on_stopping=on_stopping
        )
        settings = runtime.settings
        self.capture = CaptureEndpoint.of(runtime)
        self.compat = CompatEndpoint(self.capture)
        self._max_body = settings.server.max_body_bytes
        self._client_address = ClientAddress(settings.server.trusted_proxies, settings.server.proxy_ip_header)
        self._timer = RouteTimer(runtime.metrics.http_seconds)
        self._door: QueryDoor = self.api.state.query_door

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return
        started = time.perf_counter()
        status = [0]
        if not peer_from_worker(scope):
            self._client_address.resolve(scope)
        request_id = request_id_of(scope)
        capture = scope["path"] == CAPTURE_PATH
        compat = not capture and compat_capture.handles(scope["path"])

        async def send_and_note(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                extra = [(b"x-request-id", request_id.encode())]
                if not capture and not compat:
                    extra += response_headers(scope)
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            if capture:
                await self.capture(scope, receive, send_and_note)
            elif compat:
                await self.compat(scope, receive, send_and_note)
            else:
                with (
                    structlog.contextvars.bound_contextvars(request_id=request_id),
                    tracing.span(
                        f"HTTP {scope['method']}",
                        {"request_id": request_id, "url.path": scope["path"]},
                        kind=SpanKind.SERVER,
                        parent=tracing.incoming(scope["headers"]),
                    ) as current,
                ):
                    await self._api(scope, receive, send_and_note)
                    current.set_attribute("http.response.status_code", status[0])
        except Exception:
            # Answered already when the error came through FastAPI (its handler above); else answered here.
            await unexpected_error(scope, send_and_note, answered=bool(status[0]))
        finally:
            route = (
                CAPTURE_PATH
                if capture
                else compat_capture.route(scope["path"])
                if compat
                else getattr(scope.get("route"), "path", "unmatched")
            )
            self._timer.observe(scope["method"], route, status[0] or 500, time.perf_counter() - started)

    async def _api(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            if declared_too_large(scope, self._max_body):
                raise BodyTooLarge(self._max_body)
            receive, body = await read_capped(receive, self._max_body)
        except BodyTooLarge as exc:
            await send_error(send, 413, error_body("payload_too_large", str(exc)))
            return
        busy = self._door.refusal(scope, body)
        if busy is not None:
            retry = [(b"retry-after", str(busy.retry_after).encode())]
            await send_error(send, 429, error_body("busy", str(busy)), retry)
            return
        await self.api(scope, receive, send)


def create_app(settings: Settings | None = None) -> BelvedereApp:
    """The app for an ASGI server started on its own (``uvicorn --factory belvedere.app:create_app``):
    logging configured as ``belvedere serve`` does it."""
    settings = settings or Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return BelvedereApp(Runtime(settings))
