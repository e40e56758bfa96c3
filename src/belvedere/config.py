"""Belvedere's settings: one typed tree, read from ``BELVEDERE_*`` environment variables.

Nested groups use a double underscore: ``BELVEDERE_SPOOL__MAX_BYTES``. Every field is documented in
``docs/settings.md``; a test keeps the two in sync.
"""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

INSECURE_SECRET = "dev-insecure-secret-change-me"


class ServerSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Interface `belvedere serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port `belvedere serve` listens on.")
    public_url: str | None = Field(
        None, description="URL users reach the server at; printed by the CLI. Defaults to http://host:port."
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description="Largest request body of the management and query API (the capture limit is separate).",
    )
    capture_workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Capture worker processes. 0: one process serves everything. N > 0: N processes share "
        "the port (SO_REUSEPORT), answer `POST /api/v1/capture` themselves and pass every other request to "
        "the store owner over a Unix socket in the data folder (Linux).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Reverse proxies you run, as addresses or networks (JSON list, e.g. "
        '`["10.0.0.0/8", "127.0.0.1"]`). A request from one of them is taken to come from the address its '
        "forwarding header reports (read from the right, past trusted proxies): for capture, throttles, "
        "rate limits and the security log alike. Empty: the header is ignored everywhere.",
    )
    proxy_ip_header: str = Field(
        "x-forwarded-for", description="Header the trusted proxies write the client's address into."
    )
    header_timeout_seconds: float = Field(
        15.0,
        gt=0,
        le=600,
        description="Time a connection has to send a request's complete headers (from opening, or from the "
        "previous answer); past it the connection is closed.",
    )
    body_timeout_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Time a request has to send its whole body once its headers are in; past it the "
        "connection is closed.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not an IP address or network") from None
        return value


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
    ua_cache_size: int = Field(20_000, ge=0, description="Parsed user agents kept in the LRU cache.")
    default_session_timeout_minutes: int = Field(
        30, ge=1, le=24 * 60, description="Inactivity that ends a session, unless the project overrides it."
    )
    key_cache_seconds: float = Field(
        30.0,
        ge=0,
        description="How long a write-key lookup (hit or miss) is cached in memory, per process. A rotated "
        "key, or a deleted project or organisation, stops working at once all the same.",
    )
    stream_url: str | None = Field(
        None,
        description="Redis URL (`redis://host:6379/0`) of the shared ingest stream: capture processes "
        "started with `belvedere serve --role capture` append accepted events to it, and the server that "
        "owns the event store relays them into its spool. Unset: capture spools locally only. Redis must "
        "keep the stream with `appendonly yes` and `appendfsync always` (docs/operations.md).",
    )
    stream_key: str = Field("belvedere:ingest", min_length=1, description="The ingest stream's Redis key.")
    stream_max_bytes: int = Field(
        256 * 1024 * 1024,
        ge=1024,
        description="Redis's estimate of the stream's memory past which capture processes answer 503.",
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
    kind: Literal["duckdb", "clickhouse"] = Field(
        "duckdb",
        description="The event store's engine: `duckdb` (embedded, the file `events_path`) or `clickhouse` "
        "(the server at `clickhouse_url`, or ClickHouse embedded by chDB in `<data_dir>/events.clickhouse` "
        "when there is none; needs `pip install 'belvedere[clickhouse]'`). The settings that name DuckDB "
        "apply to `duckdb` only.",
    )
    clickhouse_url: str | None = Field(
        None,
        description="With `kind` `clickhouse`: the server, e.g. `http://user:password@host:8123/belvedere` "
        "(`https://…:8443/…` for TLS), or `chdb:///directory` for an embedded database. Default: embedded "
        "in `<data_dir>/events.clickhouse`.",
    )
    memory_limit: str = Field(
        "512MB", description="Memory DuckDB may use for its buffers (e.g. `2GB` for large query workloads)."
    )
    threads: int = Field(2, ge=1, le=64, description="Threads DuckDB may use for queries and writes.")
    checkpoint_threshold: str = Field(
        "32MB",
        description="Write-ahead log size at which DuckDB folds it into the database file. DuckDB's own "
        "default (16MB) checkpoints after almost every writer batch; 32MB lets the writer store about 30 % "
        "more events per second. Larger sizes write faster still, but each checkpoint then stalls the "
        "writer longer (at 64MB an accepted event took up to 2 s to become queryable; docs/benchmarks.md).",
    )
    max_concurrent_queries: int = Field(
        1,
        ge=1,
        le=64,
        description="Analytics queries DuckDB runs at once; more wait their turn. One query already uses "
        "every thread, so running several at once mostly adds contention.",
    )
    max_sql_queries: int = Field(
        1,
        ge=1,
        le=64,
        description="User SQL queries (the `sql` kind) DuckDB runs at once, in a lane of their own beside "
        "the insights' `max_concurrent_queries`, so that dashboards never wait behind them.",
    )


class QuerySettings(BaseModel):
    cache_entries: int = Field(
        2048, ge=0, description="Query results kept in the in-process cache (0 turns caching off)."
    )
    time_limit_seconds: float = Field(
        30.0,
        gt=0,
        le=600,
        description="Longest time one query may take, its wait for a turn included; past it the query is "
        "stopped and answered 503 (user SQL: 422, and its own `timeout_seconds` may be shorter).",
    )
    per_tenant: int = Field(
        4,
        ge=1,
        le=1000,
        description="Queries one organisation may have running or waiting in each lane (insights, SQL); "
        "one more from the query API is answered 429 with `Retry-After`, one from a page (a dashboard's "
        "widgets, the overview's panels) waits for room, within its time limit.",
    )
    queue_length: int = Field(
        64, ge=1, le=10_000, description="Queries that may wait in each lane; past it, 429 (`Retry-After`)."
    )
    sql_memory_mb: int = Field(
        512,
        ge=64,
        le=1024 * 1024,
        description="Memory one user SQL statement may use, in MiB, enforced by the kernel on the sandbox "
        "process it runs in (`RLIMIT_DATA`, above what the process needs idle); past it the statement is "
        "stopped with a 422 and the server is untouched.",
    )
    sql_cpu_priority: Literal["idle", "low", "normal"] = Field(
        "idle",
        description="The CPU priority of the embedded store's user SQL sandbox process: `idle` (it runs only"
        " on a core nothing else wants: the server's own queries and ingest always come first, but on a"
        " machine kept busy a statement may run out of time), `low` (niced to 19: a small share of a busy"
        " core) or `normal` (as the server).",
    )
    sql_input_mb: int = Field(
        2048,
        ge=16,
        le=1024 * 1024,
        description="Most bytes of project rows (Arrow, only the columns the statement names) copied out "
        "to the sandbox for one user SQL statement; past it the statement is refused with a 422.",
    )


class GeoSettings(BaseModel):
    database_path: Path | None = Field(
        None,
        description="MaxMind-format (MMDB) city or country database. Without one, the bundled "
        "DB-IP City Lite database is used if installed, else geoip2fast's country data.",
    )


class JwtKey(BaseModel):
    kid: str = Field(description="Key id written in each token's header.")
    secret: str = Field(min_length=32, description="HMAC-SHA256 secret, at least 32 characters.")


class AuthSettings(BaseModel):
    access_token_minutes: int = Field(15, ge=1, le=24 * 60, description="Lifetime of an access token (JWT).")
    refresh_token_days: int = Field(7, ge=1, le=365, description="Lifetime of a refresh token.")
    jwt_keys: list[JwtKey] = Field(
        default_factory=list,
        description="Signing keys, newest first: the first signs, all verify (rotation without logging "
        'anyone out). JSON, e.g. `[{"kid": "2026-11", "secret": "..."}]`. Empty: one key '
        "derived from `secret_key`.",
    )
    password_min_length: int = Field(10, ge=8, le=128, description="Shortest password accepted.")
    argon2_time_cost: int = Field(3, ge=1, description="Argon2id passes over memory.")
    argon2_memory_kib: int = Field(65536, ge=8, description="Argon2id memory per hash, in KiB.")
    argon2_parallelism: int = Field(2, ge=1, description="Argon2id lanes.")
    login_attempts: int = Field(
        5,
        ge=1,
        description="Failed logins allowed per account within the window below (a successful login clears "
        "them). Each attempt is counted before the password is checked, so simultaneous guesses count too.",
    )
    login_ip_attempts: int = Field(
        30,
        ge=1,
        description="Login attempts, successful or not, allowed per client address within the window below "
        "(the address is the proxy's client when `server.trusted_proxies` names the proxy).",
    )
    login_window_minutes: int = Field(15, ge=1, description="Window over which login attempts are counted.")
    code_attempts: int = Field(
        5,
        ge=1,
        description="Wrong two-factor codes (authenticator or recovery codes) allowed per account within the "
        "window above, at login and on the account page; then codes are refused until the window frees one.",
    )
    pending_login_minutes: int = Field(
        5,
        ge=1,
        le=60,
        description="Time allowed between a correct password and its two-factor code, for an account with "
        "two-factor authentication on; after it, log in again.",
    )
    public_requests_per_hour: int = Field(
        30,
        ge=1,
        description="Sign-ups, password-reset and verification requests allowed per IP per hour "
        "(they send email and need no account).",
    )
    account_emails_per_hour: int = Field(
        5,
        ge=1,
        description="Password-reset and verification emails sent to one account per hour, whoever asks and "
        "from wherever: the per-address budget above does not stop many addresses flooding one inbox.",
    )
    reset_token_minutes: int = Field(60, ge=5, description="Lifetime of a password-reset link.")
    verify_token_hours: int = Field(48, ge=1, description="Lifetime of an email-verification link.")
    invitation_days: int = Field(7, ge=1, description="Lifetime of an invitation.")
    cookie_secure: bool = Field(
        True, description="Mark the session cookie `Secure` (HTTPS only). Turn off only for plain-HTTP tests."
    )
    org_subdomain_base: str | None = Field(
        None,
        description="Resolve the organisation from the host's subdomain: with `example.com`, "
        "`acme.example.com` selects the organisation whose slug is `acme`.",
    )
    signup_plan: str = Field("unlimited", description="Plan given to organisations created by sign-up.")
    trial_days: int | None = Field(
        None, ge=1, description="If set, new organisations start as `trial` and expire after this many days."
    )


class MailSettings(BaseModel):
    smtp_host: str | None = Field(
        None,
        description="SMTP server. Unset: emails stay in the outbox of the metadata DB (admins read it); the "
        "log gets their text (reset, verification and invitation links) only when `env` is `development`, "
        "and otherwise just notes that an email was queued.",
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port.")
    smtp_username: str | None = Field(None, description="SMTP login, if the server needs one.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    sender: str = Field("Belvedere <belvedere@localhost>", description="`From` of every email.")


class PlanLimits(BaseModel):
    """One plan. A limit of `null` means unlimited."""

    rank: int = Field(0, description="Order of plans from cheapest; names the plan a gated feature needs.")
    projects: int | None = Field(None, ge=0, description="Projects per organisation.")
    members: int | None = Field(None, ge=1, description="Members (including pending invitations).")
    events_per_month: int | None = Field(None, ge=0, description="Events ingested per calendar month (UTC).")
    retention_days: int | None = Field(None, ge=1, description="Days events are kept.")
    dashboards: int | None = Field(None, ge=0, description="Dashboards per organisation.")
    alert_rules: int | None = Field(None, ge=0, description="Alert rules per organisation.")
    api_requests_per_15min: int | None = Field(
        None, ge=1, description="Management and query API requests per organisation per 15 minutes."
    )
    ingest_requests_per_minute: int | None = Field(
        None, ge=1, description="Capture requests per project per minute."
    )
    features: list[str] = Field(default_factory=list, description="Features the plan includes.")


def _default_plans() -> dict[str, PlanLimits]:
    paid = ["reports", "alerts", "sql"]
    return {
        "basic": PlanLimits(
            rank=1,
            projects=10,
            members=2,
            events_per_month=100_000,
            retention_days=365,
            dashboards=3,
            alert_rules=5,
            api_requests_per_15min=1_000,
            ingest_requests_per_minute=600,
            features=[],
        ),
        "premium": PlanLimits(
            rank=2,
            projects=50,
            members=5,
            events_per_month=1_000_000,
            retention_days=730,
            dashboards=20,
            alert_rules=50,
            api_requests_per_15min=5_000,
            ingest_requests_per_minute=3_000,
            features=paid,
        ),
        "enterprise": PlanLimits(
            rank=3,
            api_requests_per_15min=20_000,
            ingest_requests_per_minute=30_000,
            features=[*paid, "api", "webhooks", "white_label"],
        ),
        "unlimited": PlanLimits(rank=4, features=[*paid, "api", "webhooks", "white_label"]),
    }


class RateLimitSettings(BaseModel):
    enabled: bool = Field(True, description="Enforce the plans' API and ingest rate limits.")
    storage_url: str = Field(
        "memory://",
        description="Where counters live (`limits` storage URI): `memory://` for one process, "
        "`redis://host:6379/0` when several processes share them.",
    )
    quota_grace_percent: int = Field(
        0, ge=0, le=100, description="Events accepted past the monthly quota, in % of it, before 429."
    )


class JobSettings(BaseModel):
    run_in_server: bool = Field(
        True,
        description="Run a job worker inside `belvedere serve`, on every queue. With the embedded event "
        "store, jobs that read events run only there; `belvedere worker` takes the others.",
    )
    concurrency: int = Field(2, ge=1, le=64, description="Jobs one worker runs at once (threads).")
    lease_seconds: int = Field(
        60,
        ge=5,
        le=3600,
        description="How long a claimed job is held before it counts as lost and runs again elsewhere; the "
        "worker renews it while the job runs.",
    )
    poll_seconds: float = Field(
        1.0, ge=0.05, le=60, description="How often an idle worker looks for due jobs and schedules."
    )
    wake_url: str | None = Field(
        None,
        description="Redis URL (`redis://host:6379/0`) that wakes workers in other processes the moment a "
        "job is enqueued. Unset: they find it within `poll_seconds`.",
    )
    keep_days: int = Field(
        7, ge=1, le=365, description="Succeeded jobs, and their idempotency keys, are kept this long."
    )


class OutboundSettings(BaseModel):
    allow_private_networks: bool = Field(
        False,
        description="Let webhooks and Slack deliveries reach loopback, private, link-local and other "
        "non-public addresses (refused by default: a webhook URL must not reach the server's own network). "
        "For tests, and for installs whose Slack proxy is internal.",
    )
    timeout_seconds: float = Field(
        10.0, ge=1, le=60, description="Longest wait for one delivery (connect, send, read the answer)."
    )


class TracingSettings(BaseModel):
    otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP endpoint to send traces to (`http://collector:4318/v1/traces`); unset: no "
        "tracing. Spans follow a request, a captured event through the ingest stream, a query to the store.",
    )
    sample_ratio: float = Field(
        1.0, ge=0, le=1, description="Share of new traces recorded (a caller's sampled trace is always kept)."
    )


class Settings(BaseSettings):
    """The whole configuration of one Belvedere install."""

    model_config = SettingsConfigDict(
        env_prefix="BELVEDERE_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    env: Literal["development", "production", "test"] = Field(
        "development",
        description="Anything but `development` refuses insecure defaults such as the public development "
        "secret; `development` warns when it serves other machines with them.",
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
    secret_key: str = Field(
        INSECURE_SECRET,
        description="Key for signing tokens and hashing addresses; must be set (long, random) unless `env` "
        "is `development`.",
    )
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
    auth: AuthSettings = Field(default_factory=AuthSettings, description="Logins, tokens and passwords.")
    mail: MailSettings = Field(default_factory=MailSettings, description="Outgoing email.")
    rate_limit: RateLimitSettings = Field(
        default_factory=RateLimitSettings, description="Rate limits and quotas."
    )
    jobs: JobSettings = Field(default_factory=JobSettings, description="Background jobs and schedules.")
    outbound: OutboundSettings = Field(
        default_factory=OutboundSettings, description="Outgoing webhooks and Slack messages."
    )
    tracing: TracingSettings = Field(
        default_factory=TracingSettings, description="OpenTelemetry traces (off unless an endpoint is set)."
    )
    plans: dict[str, PlanLimits] = Field(
        default_factory=_default_plans,
        description="Plans by name (JSON). Defaults: `basic`, `premium`, `enterprise` from the product "
        "seeds, and `unlimited` for single-team installs.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call the management API from a browser (JSON list). "
        "The capture endpoint is open to every origin.",
    )

    @model_validator(mode="after")
    def _refuse_insecure_defaults(self) -> Settings:
        if self.env != "development" and self.secret_key == INSECURE_SECRET:
            raise ValueError(
                f"BELVEDERE_SECRET_KEY must be set to a long random value when BELVEDERE_ENV={self.env} "
                "(the default one is public), e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        if self.auth.signup_plan not in self.plans:
            raise ValueError(f"auth.signup_plan {self.auth.signup_plan!r} is not one of the plans")
        return self

    def exposure_warning(self) -> str | None:
        """What to tell a development server that listens beyond this machine with the public secret."""
        loopback = self.server.host in ("localhost", "::1") or self.server.host.startswith("127.")
        if self.secret_key != INSECURE_SECRET or loopback:
            return None
        return (
            f"Listening on {self.server.host} with the public development secret: anyone who can reach this "
            "server can forge logins. Set BELVEDERE_SECRET_KEY to a long random value (and "
            "BELVEDERE_ENV=production), or listen on 127.0.0.1."
        )

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
