"""Refusing a query the tenant has no room for, before any costly work — authentication included.

The query gate (``query.gate``) refuses a tenant's query once it has too many running or waiting, but by the
time FastAPI has resolved the route, authenticated the caller (a key or token lookup in the metadata
database, on a worker thread) and validated the body, a refusal has cost milliseconds. A client that ignores
``Retry-After`` and retries at once turns those milliseconds into a flood that slows every other tenant.

So the door keeps a short memory of which credential was admitted to which project's queries, and which
organisation that project belongs to. A request whose credential (only its SHA-256 digest is kept) and
project are remembered, and whose organisation has no room in the query's lane, is answered 429 at once, in
the ASGI layer. The door only ever refuses early: every admission still goes through authentication, so a
revoked credential gains nothing from being remembered, and a stranger's request for another tenant's
project is never remembered, so it learns nothing about that tenant's load.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any

import orjson

from belvedere.query.desk import lane_of
from belvedere.query.gate import QueryBusy, QueryGate

_QUERY_PATH = re.compile(r"/api/v1/projects/(\d{1,10})/query")
_ACCESS_COOKIE = b"bv_access="


def _credential(scope: MutableMapping[str, Any]) -> bytes | None:
    """The digest of the request's credential: its bearer token, else its session cookie."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization" and value:
            return hashlib.sha256(value).digest()
    for name, value in scope.get("headers", ()):
        if name == b"cookie" and _ACCESS_COOKIE in value:
            token = value.split(_ACCESS_COOKIE, 1)[1].split(b";", 1)[0]
            return hashlib.sha256(b"cookie " + token).digest()
    return None


class QueryDoor:
    def __init__(self, gate: QueryGate, *, ttl_seconds: float = 60.0, size: int = 10_000) -> None:
        self._gate = gate
        self._ttl = ttl_seconds
        self._size = size
        self._admitted: OrderedDict[tuple[bytes, int], tuple[int, float]] = OrderedDict()

    def remember(self, scope: MutableMapping[str, Any], project_id: int, organisation_id: int) -> None:
        """The request was authenticated for ``project_id``'s queries (called by the query route)."""
        credential = _credential(scope)
        if credential is None:
            return
        key = (credential, project_id)
        self._admitted[key] = (organisation_id, time.monotonic() + self._ttl)
        self._admitted.move_to_end(key)
        while len(self._admitted) > self._size:
            self._admitted.popitem(last=False)

    def refusal(self, scope: MutableMapping[str, Any], body: bytes) -> QueryBusy | None:
        """Why this request is refused at the door, or None to let it through to the full route."""
        if scope.get("method") != "POST":
            return None
        match = _QUERY_PATH.fullmatch(scope.get("path", ""))
        credential = _credential(scope) if match else None
        if match is None or credential is None:
            return None
        remembered = self._admitted.get((credential, int(match.group(1))))
        if remembered is None or remembered[1] < time.monotonic():
            return None
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        kind = document.get("kind") if isinstance(document, dict) else None
        try:
            self._gate.check(tenant=remembered[0], lane=lane_of(kind))
        except QueryBusy as busy:
            return busy
        return None
