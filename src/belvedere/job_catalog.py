"""Every module that registers jobs or schedules, and the parts their handlers need: whatever runs a worker
(the server's runtime, `belvedere worker`) loads them all, so that it can run every job that may be queued."""

from __future__ import annotations

import importlib
from urllib.parse import urlsplit

from belvedere.accounts.plans import Plans
from belvedere.alerts.service import Alerts
from belvedere.config import Settings
from belvedere.insights.feed.jobs import FeedLinks
from belvedere.notify.breaker import Breaker
from belvedere.notify.channels import PURPOSE, Channels
from belvedere.notify.deliveries import Delivering
from belvedere.platform.jobs import Jobs
from belvedere.platform.mail import Mailer
from belvedere.platform.secretbox import SecretBox

HANDLER_MODULES = (
    "belvedere.platform.jobs.upkeep",
    "belvedere.accounts.listeners",
    "belvedere.notify.deliveries",
    "belvedere.alerts.jobs",
    "belvedere.insights.cohorts.jobs",
    "belvedere.insights.feed.jobs",
)


def load_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)


def provide(jobs: Jobs, settings: Settings, plans: Plans, mailer: Mailer) -> tuple[Alerts, Channels]:
    """Hand the handlers what they use (the query service, on the server only, is provided there)."""
    box = SecretBox(settings.secret_key, PURPOSE)
    jobs.provide(Mailer, mailer)
    jobs.provide(FeedLinks, FeedLinks(settings.base_url))
    alerts = Alerts(jobs, plans, settings.base_url)
    jobs.provide(Alerts, alerts)
    jobs.provide(
        Delivering,
        Delivering(
            box=box,
            mail=settings.mail,
            breaker=Breaker(),
            allow_private=settings.outbound.allow_private_networks,
            timeout=settings.outbound.timeout_seconds,
            domain=urlsplit(settings.base_url).hostname or "belvedere.local",
        ),
    )
    return alerts, Channels(box, plans)
