"""``POST /api/v1/capture`` as a plain ASGI handler: it carries every tracked event, so it skips the web
framework's routing and dependency injection (about four times the cost of the handler itself, measured)."""

from __future__ import annotations

import time
from typing import Any, Protocol

import orjson
from opentelemetry.trace import SpanKind

from belvedere.accounts.service import ProjectInfo
from belvedere.config import IngestSettings, Settings
from belvedere.ingest.compat.bodies import gunzip
from belvedere.ingest.gatekeeper import Gatekeeper
from belvedere.ingest.service import IngestService, SpoolFull
from belvedere.ingest.validate import Rejected, canonical_ip
from belvedere.platform import tracing
from belvedere.platform.errors import BelvedereError
from belvedere.web.errors import ApiError, error_body, unexpected_error

CAPTURE_PATH = "/api/v1/capture"
Scope = dict[str, Any]
CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"authorization, content-type, content-encoding"),
    (b"access-control-max-age", b"86400"),
]
JSON = (b"content-type", b"application/json")


def raw_headers(exc: BelvedereError) -> list[tuple[bytes, bytes]]:
    """A refusal's headers as the raw ASGI answer carries them."""
    return [(name.lower().encode(), value.encode()) for name, value in (exc.headers or {}).items()]


async def send_json(
    send: Any,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    cors: list[tuple[bytes, bytes]] = CORS,
) -> None:
    all_headers = [JSON, (b"content-length", str(len(body)).encode()), *cors, *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


class CaptureParts(Protocol):
    """What the endpoint is built from: a runtime (one process) or a capture worker."""

    settings: Settings
    ingest: IngestService
    gatekeeper: Gatekeeper


class CaptureEndpoint:
    @classmethod
    def of(cls, parts: CaptureParts) -> CaptureEndpoint:
        return cls(
            service=parts.ingest,
            gatekeeper=parts.gatekeeper,
            settings=parts.settings.ingest,
            retry_after_seconds=parts.settings.spool.retry_after_seconds,
        )

    def __init__(
        self,
        *,
        service: IngestService,
        gatekeeper: Gatekeeper,
        settings: IngestSettings,
        retry_after_seconds: int,
    ) -> None:
        self.service = service
        self.gatekeeper = gatekeeper
        self.settings = settings
        self.retry_after = str(retry_after_seconds)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        method = scope["method"]
        if method == "OPTIONS":
            await send_json(send, 204, b"")
            return
        try:
            if method != "POST":
                raise ApiError(
                    405, "method_not_allowed", "Use POST to send events.", [(b"allow", b"POST, OPTIONS")]
                )
            headers = dict(scope["headers"])
            body = await self._read_body(receive, headers)
            status, answer = await self._handle(scope, headers, body)
        except BelvedereError as exc:
            self.service.metrics.requests_refused.labels(exc.code).inc()
            await send_json(send, exc.status, error_body(exc.code, exc.message), raw_headers(exc))
            return
        await send_json(send, status, orjson.dumps(answer))

    async def _read_body(self, receive: Any, headers: dict[bytes, bytes]) -> bytes:
        body = await self.read_raw(receive, headers)
        encoding = headers.get(b"content-encoding", b"").lower()
        if encoding in (b"gzip", b"x-gzip"):
            body = gunzip(body, self.settings.max_body_bytes)
        elif encoding not in (b"", b"identity"):
            raise ApiError(415, "unsupported_media_type", "Content-Encoding must be gzip or absent.")
        return body

    async def read_raw(self, receive: Any, headers: dict[bytes, bytes]) -> bytes:
        """The body as sent, refused past the size limit."""
        limit = self.settings.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ApiError(413, "payload_too_large", f"The body is larger than {limit} bytes.")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "payload_too_large", f"The body is larger than {limit} bytes.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _handle(self, scope: Scope, headers: dict[bytes, bytes], body: bytes) -> tuple[int, Any]:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "malformed_json", f"The body is not valid JSON: {exc}") from None
        events, body_key = self._unpack(document)
        return 202, await self.accept(scope, headers, events, body_key)

    async def accept(
        self,
        scope: Scope,
        headers: dict[bytes, bytes],
        events: list[Any],
        body_key: Any,
        project: ProjectInfo | None = None,
    ) -> dict[str, Any]:
        """Capture ``events`` for the project whose write key the request names (the Authorization header,
        else ``body_key``), or for ``project`` when the protocol named it otherwise: the one path every
        protocol's events take. The tally, as the answer says it."""
        if project is None:
            project = self.gatekeeper.project(self._write_key(headers, body_key))
        if len(events) > self.settings.max_batch_events:
            raise ApiError(
                413, "batch_too_large", f"A batch holds at most {self.settings.max_batch_events} events."
            )
        self.gatekeeper.admit(project)
        parent = tracing.incoming(scope["headers"])
        try:
            with tracing.span(
                "capture",
                {"project_id": project.id, "events": len(events)},
                kind=SpanKind.SERVER,
                parent=parent,
            ) as current:
                result = await self.service.capture(
                    project,
                    events,
                    request_ip=self._client_ip(scope),
                    request_user_agent=headers.get(b"user-agent", b"").decode("latin-1") or None,
                )
                current.set_attribute("accepted", result.accepted)
        except SpoolFull:
            raise ApiError(
                503,
                "spool_full",
                "Ingestion is catching up; retry shortly.",
                headers={"Retry-After": self.retry_after},
            ) from None
        self.gatekeeper.accepted(project, result.accepted)
        answer: dict[str, Any] = result.as_json()
        return answer

    @staticmethod
    def _unpack(document: Any) -> tuple[list[Any], Any]:
        if isinstance(document, list):
            return document, None
        if not isinstance(document, dict):
            raise ApiError(400, "invalid_body", 'Send one event object, or {"batch": [...]}.')
        if "batch" in document:
            batch = document["batch"]
            if not isinstance(batch, list):
                raise ApiError(400, "invalid_body", "`batch` must be a list of events.")
            return batch, _body_key(document)
        return [document], _body_key(document)

    @staticmethod
    def _write_key(headers: dict[bytes, bytes], body_key: Any) -> str:
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer ":
            return auth[7:].strip().decode("latin-1")
        if isinstance(body_key, str) and body_key:
            return body_key
        raise ApiError(
            401,
            "missing_write_key",
            "Send the project's write key as `Authorization: Bearer <key>` or as `api_key` in the body.",
        )

    @staticmethod
    def _client_ip(scope: Scope) -> str | None:
        """The request's address: the client itself, or what trusted proxies report (``client_address``)."""
        client = scope.get("client")
        try:
            return canonical_ip(client[0]) if client else None
        except Rejected:
            return None


def _body_key(document: dict[str, Any]) -> Any:
    """The write key sent in the body: ``write_key``, or ``api_key`` as PostHog's clients name it."""
    return document.get("write_key", document.get("api_key"))


async def capture_timed(
    endpoint: Any, timer: Any, scope: Scope, receive: Any, send: Any, route: str = CAPTURE_PATH
) -> None:
    """The capture endpoint as a process serving it directly answers it (a capture worker, a capture
    process): an unexpected error answered 500, and the time observed under the capture route."""
    started, status = time.perf_counter(), [0]

    async def noting_status(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
        await send(message)

    try:
        await endpoint(scope, receive, noting_status)
    except Exception:
        await unexpected_error(scope, noting_status, answered=status[0] != 0)
    finally:
        timer.observe(scope["method"], route, status[0] or 500, time.perf_counter() - started)
