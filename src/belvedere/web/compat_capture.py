"""Other products' trackers, pointed at Belvedere by changing their host: PostHog's capture paths (``/e/``,
``/i/v0/e/``, ``/capture/``, ``/batch/``, ``/track/``, ``/engage/``) and the configuration its browser
tracker asks for (``/decide/``, ``/flags/``, ``/array/<key>/config``: no feature flags, nothing recorded);
Segment's HTTP tracking API (``/v1/track``, ``/v1/page``… ``/v1/batch``, the write key as Basic auth);
Umami's ``/api/send`` (the write key as its website id); Plausible's ``/api/event`` (the site's domain
names the project).
Plain ASGI like ``/api/v1/capture``, whose path the events then take (``CaptureEndpoint.accept``): the same
checks, limits and guarantees; they answer as the product does (200 ``{"status": 1}``, ``{"success":
true}``) so that its clients, which treat any other status as a failure, are content."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

import orjson

from belvedere.ingest.compat import bodies, plausible, posthog, segment, umami
from belvedere.platform.errors import BelvedereError
from belvedere.web.capture import CaptureEndpoint, Scope, raw_headers, send_json
from belvedere.web.errors import error_body

_CAPTURE_PATHS = ("/e", "/i/v0/e", "/capture", "/batch", "/track", "/engage")
POSTHOG_CAPTURE = frozenset(f"{path}{end}" for path in _CAPTURE_PATHS for end in ("", "/"))
POSTHOG_CONFIG = frozenset(f"{path}{end}" for path in ("/decide", "/flags") for end in ("", "/"))
CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"authorization, content-type, content-encoding"),
    (b"access-control-max-age", b"86400"),
]
# What posthog-js needs to hear to carry on capturing: no flags, no recordings, no surveys, nothing to load.
NO_FEATURES: dict[str, Any] = {
    "config": {"enable_collect_everything": True},
    "featureFlags": {},
    "featureFlagPayloads": {},
    "flags": {},
    "errorsWhileComputingFlags": False,
    "quotaLimited": [],
    "sessionRecording": False,
    "supportedCompression": ["gzip", "gzip-js", "lz64"],
    "autocapture_opt_out": False,
    "capturePerformance": False,
    "surveys": False,
    "heatmaps": False,
    "siteApps": [],
    "toolbarParams": {},
}


# Segment's HTTP tracking API: a path per message type; /v1/batch (and /v1/import) take a list.
SEGMENT = {f"/v1/{kind}": kind for kind in segment.TYPES} | {"/v1/batch": None, "/v1/import": None}


UMAMI = "/api/send"
PLAUSIBLE = "/api/event"


def handles(path: str) -> bool:
    """Whether ``path`` is one of the paths served here."""
    return (
        path in POSTHOG_CAPTURE
        or path in POSTHOG_CONFIG
        or path in SEGMENT
        or path in (UMAMI, PLAUSIBLE)
        or _is_remote_config(path)
    )


def route(path: str) -> str:
    """The path as metrics name it (a project key in a path is not a route)."""
    return "/array/{key}/config" if _is_remote_config(path) else path


def _is_remote_config(path: str) -> bool:
    return path.startswith("/array/") and path.endswith(("/config", "/config.js")) and path.count("/") == 3


async def _send(
    send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send_json(send, status, body, headers, cors=CORS)


class CompatEndpoint:
    def __init__(self, capture: CaptureEndpoint) -> None:
        self.capture = capture

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        method, path = scope["method"], scope["path"]
        if method == "OPTIONS":
            await _send(send, 204, b"")
            return
        if path in POSTHOG_CONFIG or _is_remote_config(path):
            await _send(send, 200, orjson.dumps(NO_FEATURES))
            return
        try:
            if method not in ("POST", "GET") or (method == "GET" and not self._posthog_path(path)):
                raise BelvedereError("Send events with POST.", code="method_not_allowed", status=405)
            if path == PLAUSIBLE:
                status, answer = await self._plausible(scope, receive)
                await _send(send, status, orjson.dumps(answer))
                return
            if path == UMAMI:
                answer = {"cache": "", **await self._umami(scope, receive)}
            elif path in SEGMENT:
                answer = {"success": True, **await self._segment(scope, receive, SEGMENT[path])}
            else:
                answer = {"status": 1, **await self._posthog(scope, receive)}
        except BelvedereError as exc:
            self.capture.service.metrics.requests_refused.labels(exc.code).inc()
            await _send(send, exc.status, error_body(exc.code, exc.message), raw_headers(exc))
            return
        await _send(send, 200, orjson.dumps(answer))

    async def _accept(
        self, scope: Scope, headers: dict[bytes, bytes], made: tuple[list[Any], list[int]], key: str | None
    ) -> dict[str, Any]:
        """The translated events through the capture path; refusals numbered as the sender numbered its
        events (one of theirs may have become two of ours)."""
        events, origins = made
        answer = await self.capture.accept(scope, headers, events, key)
        for rejection in answer["rejected"]:
            rejection["index"] = origins[rejection["index"]]
        return answer

    @staticmethod
    def _posthog_path(path: str) -> bool:
        return path in POSTHOG_CAPTURE

    async def _plausible(self, scope: Scope, receive: Any) -> tuple[int, dict[str, Any]]:
        """202 as Plausible answers; 400 with the reason when its one event is refused."""
        headers = dict(scope["headers"])
        fields, domain = plausible.unpack(await self._json(receive, headers))
        forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1") or None
        event = plausible.translate(fields, forwarded)
        project = self.capture.gatekeeper.project_of_site(domain)
        answer = await self.capture.accept(scope, headers, [event], None, project=project)
        if answer["rejected"]:
            error = answer["rejected"][0]["error"]
            raise BelvedereError(error["message"], code=error["code"])
        return 202, answer

    async def _umami(self, scope: Scope, receive: Any) -> dict[str, Any]:
        headers = dict(scope["headers"])
        document = await self._json(receive, headers)
        payload, kind, key = umami.unpack(document)
        return await self._accept(scope, headers, ([umami.translate(payload, kind)], [0]), key)

    async def _json(self, receive: Any, headers: dict[bytes, bytes]) -> Any:
        """A JSON body (gzip when declared), size-capped."""
        raw = await self.capture.read_raw(receive, headers)
        return bodies.decode(
            raw,
            content_type="application/json",
            content_encoding=headers.get(b"content-encoding", b"").decode("latin-1"),
            compression=None,
            limit=self.capture.settings.max_body_bytes,
        )

    async def _segment(self, scope: Scope, receive: Any, kind: str | None) -> dict[str, Any]:
        headers = dict(scope["headers"])
        document = await self._json(receive, headers)
        messages, key, sent_at = segment.unpack(document, kind)
        made = segment.translate(messages, sent_at=sent_at, now=datetime.now(UTC))
        return await self._accept(scope, headers, made, basic_user(headers) or key)

    async def _posthog(self, scope: Scope, receive: Any) -> dict[str, Any]:
        headers = dict(scope["headers"])
        query = bodies.fields(scope.get("query_string", b"").decode("latin-1"))
        if scope["method"] == "GET":  # an image beacon: the document in the query's `data`
            raw = (query.get("data") or [""])[0].encode("latin-1")
            content_type = "application/x-www-form-urlencoded"
            raw = b"data=" + raw if raw else b""
        else:
            raw = await self.capture.read_raw(receive, headers)
            content_type = headers.get(b"content-type", b"").decode("latin-1")
        if not raw:
            raise BelvedereError("The request carries no events.", code="invalid_body")
        document = bodies.decode(
            raw,
            content_type=content_type,
            content_encoding=headers.get(b"content-encoding", b"").decode("latin-1"),
            compression=query["compression"][0] if query.get("compression") else None,
            limit=self.capture.settings.max_body_bytes,
        )
        events, key = posthog.unpack(document)
        sent_at = document.get("sent_at") if isinstance(document, dict) else None
        stamp = (query.get("_") or [""])[0]  # posthog-js: when it sent, in ms
        if sent_at is None and stamp.isdigit() and len(stamp) <= 15:
            sent_at = datetime.fromtimestamp(int(stamp) / 1000, UTC).isoformat()
        made = posthog.translate(events, sent_at=sent_at, now=datetime.now(UTC))
        return await self._accept(scope, headers, made, key)


def basic_user(headers: dict[bytes, bytes]) -> str | None:
    """The user name of HTTP Basic authentication (Segment's libraries send the write key so, with no
    password); None without one."""
    auth = headers.get(b"authorization", b"")
    if auth[:6].lower() != b"basic ":
        return None
    try:
        user = base64.b64decode(auth[6:].strip(), validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user or None
