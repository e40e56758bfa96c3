"""The client an application keeps: events are queued and sent in batches by a background thread (or at
once, in ``sync_mode``, for serverless functions that may be frozen the moment they return).

The queue is bounded: when the server is down long enough to fill it, new events are dropped and counted
(``dropped``) rather than growing the application's memory. Each event gets its id when it is made, so a
batch sent again after a lost answer is stored once. ``flush()`` waits until everything queued is sent;
``shutdown()`` (also run at exit) flushes and stops the thread."""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from belvedere_sdk.transport import SendError, Transport

log = logging.getLogger("belvedere_sdk")
Properties = dict[str, Any]


class Belvedere:
    def __init__(
        self,
        write_key: str,
        host: str,
        *,
        batch_size: int = 100,
        flush_interval: float = 0.5,
        max_queue: int = 10_000,
        sync_mode: bool = False,
        gzip: bool = True,
        timeout: float = 10.0,
        max_retries: int = 5,
        on_error: Callable[[SendError, list[dict[str, Any]]], None] | None = None,
    ) -> None:
        """``write_key``: the project's write key; ``host``: the server's address. Events go in batches of
        up to ``batch_size`` (the server takes 1,000), at least every ``flush_interval`` seconds; at most
        ``max_queue`` wait. ``on_error`` hears of each batch that could not be sent (after the retries)."""
        if not write_key or not host:
            raise ValueError("a write key and a host are needed")
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size is 1 to 1,000")
        del gzip  # always on: every server takes it, and it is most of the bytes saved
        self.transport = Transport(host, write_key, timeout=timeout, max_retries=max_retries)
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.sync_mode = sync_mode
        self.on_error = on_error
        self.dropped = 0  # events the full queue could not take
        self.failed = 0  # events in batches that could not be sent
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False
        atexit.register(self.shutdown)

    # ------------------------------------------------------------------ what applications call

    def capture(
        self,
        distinct_id: str,
        event: str,
        properties: Properties | None = None,
        *,
        timestamp: datetime | None = None,
    ) -> str:
        """Record ``event`` done by ``distinct_id``; the event's id."""
        return self._enqueue(
            {"event": event, "distinct_id": distinct_id, "properties": properties or {}}, timestamp
        )

    def page(
        self,
        distinct_id: str,
        url: str,
        *,
        referrer: str | None = None,
        title: str | None = None,
        properties: Properties | None = None,
        timestamp: datetime | None = None,
    ) -> str:
        """Record a page view of ``url`` (a whole address)."""
        page = {k: v for k, v in (("url", url), ("referrer", referrer), ("title", title)) if v is not None}
        message = {
            "type": "page",
            "distinct_id": distinct_id,
            "properties": properties or {},
            "context": {"page": page},
        }
        return self._enqueue(message, timestamp)

    def identify(
        self, distinct_id: str, traits: Properties | None = None, *, timestamp: datetime | None = None
    ) -> str:
        """Set ``traits`` on the person ``distinct_id`` (plan, company…: what filters and breakdowns read)."""
        return self._enqueue(
            {"type": "identify", "distinct_id": distinct_id, "traits": traits or {}}, timestamp
        )

    def alias(self, distinct_id: str, alias: str, *, timestamp: datetime | None = None) -> str:
        """Link ``alias`` (say, the anonymous id a visitor had before signing up) to ``distinct_id``."""
        message = {"type": "alias", "distinct_id": distinct_id, "properties": {"alias": alias}}
        return self._enqueue(message, timestamp)

    def flush(self) -> None:
        """Wait until every queued event has been sent (or given up on)."""
        if self.sync_mode:
            return
        self._queue.join()

    def shutdown(self) -> None:
        """Flush, then stop the background thread (run at exit too)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)  # wakes the thread, which sends what is left and ends
            thread.join()

    # ------------------------------------------------------------------ inside

    def _enqueue(self, message: dict[str, Any], timestamp: datetime | None) -> str:
        event_id = str(uuid.uuid4())
        moment = timestamp or datetime.now(UTC)
        message = {**message, "uuid": event_id, "timestamp": moment.isoformat()}
        if self.sync_mode:
            self._send([message])
            return event_id
        self._start()
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self.dropped += 1
            log.warning("belvedere: the queue is full (%d events); an event was dropped", self._queue.maxsize)
        return event_id

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, name="belvedere-sdk", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[dict[str, Any]] = []
            taken = 0
            try:
                first = self._queue.get(timeout=self.flush_interval)
            except queue.Empty:
                continue
            taken += 1
            if first is None:
                stopping = True
            else:
                batch.append(first)
            while len(batch) < self.batch_size and not stopping:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                taken += 1
                if more is None:
                    stopping = True
                else:
                    batch.append(more)
            if stopping:  # send what is left after the stop too
                while True:
                    try:
                        rest = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    taken += 1
                    if rest is not None:
                        batch.append(rest)
            for start in range(0, len(batch), self.batch_size):
                self._send(batch[start : start + self.batch_size])
            for _ in range(taken):
                self._queue.task_done()

    def _send(self, batch: list[dict[str, Any]]) -> None:
        try:
            answer = self.transport.send(batch)
        except SendError as exc:
            self.failed += len(batch)
            log.warning("belvedere: %d events not sent: %s", len(batch), exc)
            if self.on_error is not None:
                self.on_error(exc, batch)
            return
        for rejection in answer.get("rejected", []):
            log.warning("belvedere: an event was refused: %s", rejection.get("error"))
