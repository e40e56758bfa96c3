"""One batch to ``POST /api/v1/capture``: gzip, the write key as a bearer token, and retries with backoff on
what retrying can fix — the network, 429 and 5xx, honouring ``Retry-After`` — but not on what it cannot (a
wrong key, a malformed batch: 4xx), which would fail the same way forever."""

from __future__ import annotations

import gzip
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

USER_AGENT = "belvedere-python/0.1.0"
CAPTURE_PATH = "/api/v1/capture"


class SendError(Exception):
    """A batch the server refused for good (``status``: its HTTP status, 0 for the network), or that still
    failed after every retry."""

    def __init__(self, message: str, status: int, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass
class Transport:
    host: str
    write_key: str
    timeout: float = 10.0
    max_retries: int = 5
    backoff: float = 0.5  # seconds before the first retry; doubled each time, with jitter
    max_backoff: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def send(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """The server's tally (``accepted``, ``dropped``, ``rejected``); ``SendError`` when there is none."""
        body = gzip.compress(json.dumps({"batch": events}, default=str).encode())
        attempt = 0
        while True:
            status, text, retry_after = self._post(body)
            if 200 <= status < 300:
                answer: dict[str, Any] = json.loads(text) if text else {}
                return answer
            retryable = status == 0 or status == 429 or status >= 500
            if not retryable or attempt >= self.max_retries:
                raise SendError(f"the server answered {status or 'nothing'}: {text[:300]}", status, text)
            attempt += 1
            delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            self.sleep(max(delay, retry_after or 0.0))

    def _post(self, body: bytes) -> tuple[int, str, float | None]:
        request = urllib.request.Request(
            self.host.rstrip("/") + CAPTURE_PATH,
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {self.write_key}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "User-Agent": USER_AGENT,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read().decode(), None
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace"), _seconds(exc.headers.get("Retry-After"))
        except (urllib.error.URLError, OSError):
            return 0, "", None


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
