"""The capture use case: validate → enrich → spool, one event at a time, one bad event never costing the
good ones beside it."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from belvedere.accounts.service import ProjectInfo
from belvedere.ingest import records
from belvedere.ingest.pipeline import Pipeline
from belvedere.ingest.spool import Buffer, SpoolFull
from belvedere.ingest.validate import Limits, Rejected, parse_event
from belvedere.platform import tracing
from belvedere.platform.metrics import Metrics

__all__ = ["CaptureResult", "IngestService", "SpoolFull"]


@dataclass(slots=True)
class CaptureResult:
    accepted: int = 0
    dropped: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    dropped_because: dict[str, int] = field(default_factory=dict)  # reason (bot, excluded_ip…) → count

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "dropped": self.dropped, "rejected": self.rejected}


class IngestService:
    def __init__(self, *, pipeline: Pipeline, spool: Buffer, limits: Limits, metrics: Metrics) -> None:
        self.pipeline = pipeline
        self.spool = spool
        self.limits = limits
        self.metrics = metrics

    def prepare(
        self,
        project: ProjectInfo,
        events: list[Any],
        *,
        request_ip: str | None = None,
        request_user_agent: str | None = None,
        now_ms: int | None = None,
    ) -> tuple[bytes, CaptureResult]:
        """Validate and enrich; return the spool record (NDJSON) of the kept events and the tally."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        result = CaptureResult()
        lines: list[bytes] = []
        rejected: Counter[str] = Counter()
        dropped: Counter[str] = Counter()
        for index, raw in enumerate(events):
            try:
                event = parse_event(raw, project_id=project.id, now_ms=now_ms, limits=self.limits)
            except Rejected as exc:
                rejected[exc.code] += 1
                result.rejected.append({"index": index, "error": {"code": exc.code, "message": exc.message}})
                continue
            if event.ip is None:
                event.ip = request_ip
            if event.user_agent is None:
                event.user_agent = request_user_agent
            reason = self.pipeline.run(event, project)
            if reason is not None:
                dropped[reason] += 1
                continue
            row = {k: v for k, v in event.row.items() if v is not None}  # absent means NULL: smaller spool
            lines.append(records.encode(row, client_uuid=event.client_uuid))
        result.accepted = len(lines)
        result.dropped = sum(dropped.values())
        result.dropped_because = dict(dropped)
        for code, count in rejected.items():
            self.metrics.events_rejected.labels(code).inc(count)
        for reason, count in dropped.items():
            self.metrics.events_dropped.labels(reason).inc(count)
        return records.join(lines), result

    async def capture(self, project: ProjectInfo, events: list[Any], **request: Any) -> CaptureResult:
        """Process and durably spool; returns once the accepted events are on disk."""
        if self.spool.is_full():
            raise SpoolFull()
        payload, result = self.prepare(project, events, **request)
        if payload:
            await self.spool.append(payload, trace=tracing.traceparent())
            self.metrics.events_accepted.inc(result.accepted)
        return result

    def capture_sync(self, project: ProjectInfo, events: list[Any], **request: Any) -> CaptureResult:
        payload, result = self.prepare(project, events, **request)
        if payload:
            self.spool.append_sync(payload)
            self.metrics.events_accepted.inc(result.accepted)
        return result
