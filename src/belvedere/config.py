"""Belvedere's settings: one typed tree, read from ``BELVEDERE_*`` environment variables.

Nested groups use a double underscore: ``BELVEDERE_SPOOL__MAX_BYTES``. Every field is documented in
``docs/settings.md``; a test keeps the two in sync.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

INSECURE_SECRET = "dev-insecure-secret-change-me"


class ServerSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Interface `belvedere serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port `belvedere serve` listens on.")
    public_url: str | None = Field(
        None, description="URL users reach the server at; printed by the CLI. Defaults to http://host:port."
    )


class IngestSettings(BaseModel):
    max_batch_events: int = Field(1000, ge=1, description="Most events one capture request may carry.")
    max_body_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, description="Largest capture body, measured after gzip decompression."
    )
    max_properties_bytes: int = Field(
        32 * 1024, ge=256, description="Largest serialised `properties` object."
    )
    max_future_seconds: int = Field(
        3600, ge=0, description="Events stamped further than this in the future are rejected."
    )
    drop_bots: bool = Field(True, description="Drop events from bots, crawlers and headless browsers.")
    trust_proxy_headers: bool = Field(
        False,
        description="Take the client IP from the proxy header below. Enable only behind a proxy you run.",
    )
    proxy_ip_header: str = Field(
        "x-forwarded-for", description="Header holding the client IP when proxy headers are trusted."
    )
    ua_cache_size: int = Field(20_000, ge=0, description="Parsed user agents kept in the LRU cache.")
    default_session_timeout_minutes: int = Field(
        30, ge=1, le=24 * 60, description="Inactivity that ends a session, unless the project overrides it."
    )
    key_cache_seconds: float = Field(
        30.0, ge=0, description="How long a write-key lookup (hit or miss) is cached in memory."
    )


class SpoolSettings(BaseModel):
    max_bytes: int = Field(
        512 * 1024 * 1024,
        ge=1024,
        description="Spool size (accepted but not yet stored) past which capture answers 503.",
    )
    segment_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="Size at which a spool segment rotates."
    )
    fsync: bool = Field(True, description="fsync each group commit. Turn off only for throwaway data.")
    retry_after_seconds: int = Field(
        5, ge=1, description="`Retry-After` sent with a 503 when the spool is full."
    )


class WriterSettings(BaseModel):
    batch_rows: int = Field(20_000, ge=1, description="Rows that trigger a write into the event store.")
    flush_interval_ms: int = Field(
        500, ge=10, description="Longest time an accepted event waits before it is written to the store."
    )
    max_batch_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Most spool bytes the writer turns into one batch."
    )


class StoreSettings(BaseModel):
    memory_limit: str = Field(
        "512MB", description="Memory DuckDB may use for its buffers (e.g. `2GB` for large query workloads)."
    )
    threads: int = Field(2, ge=1, le=64, description="Threads DuckDB may use for queries and writes.")


class QuerySettings(BaseModel):
    cache_entries: int = Field(
        2048, ge=0, description="Query results kept in the in-process cache (0 turns caching off)."
    )


class GeoSettings(BaseModel):
    database_path: Path | None = Field(
        None,
        description="MaxMind-format (MMDB) city or country database. Without one, the bundled "
        "DB-IP City Lite database is used if installed, else geoip2fast's country data.",
    )


class Settings(BaseSettings):
    """The whole configuration of one Belvedere install."""

    model_config = SettingsConfigDict(
        env_prefix="BELVEDERE_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    env: Literal["development", "production", "test"] = Field(
        "development", description="`production` refuses insecure defaults such as the development secret."
    )
    data_dir: Path = Field(
        Path("./belvedere-data"), description="Folder for the embedded parts: event store, spool, SQLite."
    )
    database_url: str | None = Field(
        None,
        description="Metadata database (SQLAlchemy URL). Default: SQLite at `<data_dir>/belvedere.db`; "
        "e.g. `postgresql+psycopg://user@host/db`.",
    )
    events_path: Path | None = Field(
        None, description="DuckDB event-store file. Default: `<data_dir>/events.duckdb`."
    )
    secret_key: str = Field(INSECURE_SECRET, description="Key for signing; must be set in production.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Lowest level logged."
    )
    log_json: bool = Field(False, description="Log JSON lines instead of human-readable text.")
    server: ServerSettings = Field(default_factory=ServerSettings, description="HTTP server.")
    ingest: IngestSettings = Field(
        default_factory=IngestSettings, description="Capture endpoint and enrichment."
    )
    spool: SpoolSettings = Field(default_factory=SpoolSettings, description="Durable ingest spool.")
    writer: WriterSettings = Field(default_factory=WriterSettings, description="Spool-to-store batch writer.")
    store: StoreSettings = Field(default_factory=StoreSettings, description="Embedded event store (DuckDB).")
    geo: GeoSettings = Field(default_factory=GeoSettings, description="IP geolocation.")
    query: QuerySettings = Field(default_factory=QuerySettings, description="Query engine.")

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Settings:
        if self.env == "production" and self.secret_key == INSECURE_SECRET:
            raise ValueError(
                "BELVEDERE_SECRET_KEY must be set to a random value when BELVEDERE_ENV=production"
            )
        return self

    @property
    def metadata_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'belvedere.db').resolve()}"

    @property
    def event_store_path(self) -> Path:
        return self.events_path or self.data_dir / "events.duckdb"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def base_url(self) -> str:
        return self.server.public_url or f"http://{self.server.host}:{self.server.port}"
