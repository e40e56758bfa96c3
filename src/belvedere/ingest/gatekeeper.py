"""Who may send events, now: the ingest context's admission, the same in the server and in every capture
worker (each builds one with ``Gatekeeper.build``).

In order: the write key names a project (cached per process, forgotten by every process at once when a key
is rotated or a project or organisation deleted: ``ingest.write_keys``); the organisation's subscription is
live; the project is within its plan's capture request rate; the organisation within its monthly event
quota. Each refusal is a ``platform.errors`` kind with its code, status and headers; the capture adapter only
turns it into bytes.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from belvedere.accounts.plans import Plans, is_live
from belvedere.accounts.quotas import Throttle, UsageMeter
from belvedere.accounts.service import ProjectInfo
from belvedere.config import Settings
from belvedere.ingest.write_keys import ProjectDirectory, SharedEpoch, epoch_file
from belvedere.platform.errors import Forbidden, TooMany, Unauthorized
from belvedere.platform.mail import Mailer
from belvedere.platform.ratelimit import RateLimiter


class Gatekeeper:
    def __init__(self, projects: ProjectDirectory, throttle: Throttle, usage: UsageMeter) -> None:
        self.projects = projects
        self.throttle = throttle
        self.usage = usage

    @classmethod
    def build(
        cls,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        plans: Plans,
        limiter: RateLimiter,
        mailer: Mailer,
    ) -> Gatekeeper:
        """The one way a process (the server, or a capture worker) gets its admission."""
        ttl = settings.ingest.key_cache_seconds
        stream = settings.ingest.stream_url  # processes sharing the stream may be on several machines
        shared = SharedEpoch(stream) if stream is not None else None
        projects = ProjectDirectory(sessions, ttl, epoch_file(settings.data_dir), shared)
        throttle = Throttle(limiter, plans, enabled=settings.rate_limit.enabled)
        usage = UsageMeter(sessions, plans, mailer, grace_percent=settings.rate_limit.quota_grace_percent)
        return cls(projects, throttle, usage)

    def project(self, write_key: str) -> ProjectInfo:
        project = self.projects.by_write_key(write_key)
        if project is None:
            raise Unauthorized(
                "Unknown write key: copy it from your project's settings.", code="invalid_write_key"
            )
        return project

    def project_of_site(self, domain: str) -> ProjectInfo:
        """The project a site's domain names (Plausible's events name their site, not a key): the one whose
        ``domains`` setting lists it — or, when ``domain`` is a write key, that key's project."""
        if domain.startswith("bw_"):
            return self.project(domain)
        project, ambiguous = self.projects.by_domain(domain)
        if ambiguous:
            raise Unauthorized(
                f"Several projects list {domain!r} among their domains: send the project's write key as the"
                " domain instead.",
                code="ambiguous_domain",
            )
        if project is None:
            raise Unauthorized(
                f"No project lists {domain!r} among its domains: add it in the project's settings, or send"
                " the project's write key as the domain.",
                code="unknown_domain",
            )
        return project

    def admit(self, project: ProjectInfo) -> None:
        """Raise unless the project may send events now (counts one capture request against its rate)."""
        if not is_live(project.org_status, project.org_expires_at):
            raise Forbidden(
                "The organisation's subscription has ended: events are refused until it is renewed. "
                "Stored data is kept.",
                code="subscription_expired",
            )
        verdict = self.throttle.ingest(project.id, project.plan)
        if verdict is not None and not verdict.allowed:
            raise TooMany(
                f"This project may send {verdict.limit} capture requests per minute on its plan; "
                "batch events or retry later.",
                headers=verdict.headers(),
            )
        refused, used, quota = self.usage.over_quota(project.organisation_id, project.plan)
        if refused:
            raise TooMany(
                f"The organisation has used {used:,} of its {quota:,} events this month; "
                "upgrade the plan or wait for next month.",
                code="quota_exceeded",
                headers={"Retry-After": "3600"},
            )

    def accepted(self, project: ProjectInfo, events: int) -> None:
        """Count accepted events towards the organisation's monthly quota."""
        self.usage.add(project.organisation_id, events)
