"""A capture worker: one of the processes that answer ``POST /api/v1/capture`` when the server runs with
``capture_workers`` > 0.

A worker validates, enriches and durably spools events in a spool of its own; it never opens the event
store (one process owns it). What needs every event of a project in order — the person and the visit — is
left as hints in each row for the owner's relay (``belvedere.ingest.relay``). The worker reads the owner's
``relayed`` position to free its spool and to know when it is full.
"""

from __future__ import annotations

from belvedere.accounts.plans import Plans
from belvedere.config import Settings
from belvedere.ingest.enrich import standard_pipeline
from belvedere.ingest.gatekeeper import Gatekeeper
from belvedere.ingest.relay import read_relayed, worker_spool_dir
from belvedere.ingest.salts import SaltRing
from belvedere.ingest.service import IngestService
from belvedere.ingest.spool import Buffer, Spool
from belvedere.ingest.stream import StreamBuffer
from belvedere.ingest.validate import Limits
from belvedere.platform.db import make_engine, make_session_factory
from belvedere.platform.mail import Mailer
from belvedere.platform.metrics import Metrics
from belvedere.platform.ratelimit import RateLimiter


class CaptureWorker:
    def __init__(self, settings: Settings, index: int | None) -> None:
        self.settings = settings
        self.index = index
        self.metrics = Metrics()
        self.engine = make_engine(settings.metadata_url)
        sessions = make_session_factory(self.engine)
        self.salts = SaltRing(sessions)
        self.pipeline, self.geo = standard_pipeline(settings, self.salts, visits=None)
        # A worker of one server (numbered from 0) spools locally; a capture process of the scale-out mode
        # (``belvedere serve --role capture``: no index) appends to the shared stream.
        ingest = settings.ingest
        self.directory = worker_spool_dir(settings.spool_dir, index) if index is not None else None
        self.local: Spool | None = None
        self.stream: StreamBuffer | None = None
        self.spool: Buffer
        if self.directory is not None:
            self.spool = self.local = Spool.from_settings(self.directory, settings.spool)
        elif ingest.stream_url is None:
            raise ValueError("a capture process needs the shared stream: set BELVEDERE_INGEST__STREAM_URL")
        else:
            self.spool = self.stream = StreamBuffer(
                ingest.stream_url, ingest.stream_key, max_bytes=ingest.stream_max_bytes
            )
        self.ingest = IngestService(
            pipeline=self.pipeline,
            spool=self.spool,
            limits=Limits.from_settings(settings.ingest),
            metrics=self.metrics,
        )
        self.gatekeeper = Gatekeeper.build(
            settings,
            sessions,
            plans=Plans(settings.plans),
            limiter=RateLimiter(settings.rate_limit.storage_url),
            mailer=Mailer(settings.mail, log_bodies=settings.env == "development"),
        )
        self.usage = self.gatekeeper.usage

    def start(self) -> None:
        """Open the spool where the owner's relay stopped (a torn last record is cut away)."""
        if self.stream is not None:
            self.stream.check_durability()
        if self.local is not None and self.directory is not None:
            self.local.open(read_relayed(self.directory))
        self.salts.salts()

    def follow_relay(self) -> None:
        """Free what the owner has relayed: the spool's depth drops, whole segments are deleted (the owner
        trims the stream itself)."""
        if self.local is None or self.directory is None:
            return
        position = read_relayed(self.directory)
        if position is not None:
            self.local.release(position)

    def maintain(self) -> None:
        self.salts.salts()
        self.usage.flush()

    def publish_metrics(self) -> None:
        """Write this worker's metrics where the owner's ``/metrics`` merges them (a capture process of the
        scale-out mode serves its own)."""
        self.metrics.add_step_timings(self.pipeline.take_timings())
        if self.index is None:
            return
        self.metrics.write_snapshot(self.settings.data_dir / "metrics" / f"capture-{self.index}.json")

    def stop(self) -> None:
        self.usage.flush()
        self.publish_metrics()
        self.spool.close()
        self.engine.dispose()
