"""What plans meter: API requests per organisation, capture requests per project, events per month.

The monthly event count is kept in memory per organisation and added to ``usage_months`` by the periodic
upkeep (``flush``), so the capture path never waits on the metadata DB. Crossing 80 % and 100 % of the quota
emails the owners once per month.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from belvedere.accounts.models import Organisation, UsageMonth
from belvedere.accounts.organisations import OrgView, owners
from belvedere.accounts.plans import Plans
from belvedere.platform.db import transaction
from belvedere.platform.mail import Mailer
from belvedere.platform.ratelimit import RateLimiter, Verdict

API_WINDOW_MINUTES = 15


def current_month(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m")


class Throttle:
    """Per-plan request limits. ``None`` when the plan sets no limit or limits are off."""

    def __init__(self, limiter: RateLimiter, plans: Plans, *, enabled: bool) -> None:
        self.limiter = limiter
        self.plans = plans
        self.enabled = enabled

    def api(self, org: OrgView) -> Verdict | None:
        limit = self.plans.get(org.plan).api_requests_per_15min
        if not self.enabled or limit is None:
            return None
        return self.limiter.hit(f"api:{org.id}", limit, API_WINDOW_MINUTES)

    def ingest(self, project_id: int, plan: str) -> Verdict | None:
        limit = self.plans.get(plan).ingest_requests_per_minute
        if not self.enabled or limit is None:
            return None
        return self.limiter.hit(f"ingest:{project_id}", limit, 1)


class UsageMeter:
    def __init__(
        self, sessions: sessionmaker[Session], plans: Plans, mailer: Mailer, *, grace_percent: int
    ) -> None:
        self._sessions = sessions
        self._plans = plans
        self._mailer = mailer
        self._grace = grace_percent
        self._lock = threading.Lock()
        self._pending: dict[int, int] = defaultdict(int)
        self._stored: dict[int, int] = {}  # this month's count in the DB, as of the last flush
        self._month = current_month()

    def add(self, organisation_id: int, events: int) -> None:
        if events:
            with self._lock:
                self._pending[organisation_id] += events

    def used(self, organisation_id: int) -> int:
        with self._lock:
            stored = self._stored.get(organisation_id)
            pending = self._pending.get(organisation_id, 0)
        if stored is None:
            stored = self._load(organisation_id)
        return stored + pending

    def over_quota(self, organisation_id: int, plan: str) -> tuple[bool, int, int | None]:
        """(refuse?, used, quota). Refused once usage passes the quota plus its grace."""
        quota = self._plans.get(plan).events_per_month
        if quota is None:
            return False, 0, None
        used = self.used(organisation_id)
        return used >= quota + quota * self._grace // 100, used, quota

    def _load(self, organisation_id: int) -> int:
        with transaction(self._sessions) as session:
            row = session.scalar(
                select(UsageMonth).where(
                    UsageMonth.organisation_id == organisation_id, UsageMonth.month == self._month
                )
            )
            count = row.events if row else 0
        with self._lock:
            self._stored.setdefault(organisation_id, count)
        return count

    def flush(self) -> None:
        """Add pending counts to this month's rows and send the 80 % / 100 % warnings that are due."""
        month = current_month()
        with self._lock:
            pending, self._pending = dict(self._pending), defaultdict(int)
            if month != self._month:
                self._month, self._stored = month, {}
        if not pending:
            return
        try:
            with transaction(self._sessions) as session:
                # An organisation deleted since its events were counted has no usage to keep.
                live = set(session.scalars(select(Organisation.id).where(Organisation.id.in_(pending))))
                for org_id, events in pending.items():
                    if org_id not in live:
                        continue
                    total = self._add(session, org_id, month, events)
                    with self._lock:
                        self._stored[org_id] = total
        except Exception:
            with self._lock:  # keep the counts for the next flush
                for org_id, events in pending.items():
                    self._pending[org_id] += events
            raise

    def _add(self, session: Session, org_id: int, month: str, events: int) -> int:
        row = session.scalar(
            select(UsageMonth)
            .where(UsageMonth.organisation_id == org_id, UsageMonth.month == month)
            .with_for_update()
        )
        if row is None:
            row = UsageMonth(organisation_id=org_id, month=month, events=0, warned_80=False, warned_100=False)
            session.add(row)
        row.events += events
        org = session.get(Organisation, org_id)
        quota = self._plans.get(org.plan).events_per_month if org else None
        if org is not None and quota:
            if row.events >= quota and not row.warned_100:
                row.warned_100 = row.warned_80 = True
                self._warn(session, org, 100, row.events, quota)
            elif row.events >= quota * 0.8 and not row.warned_80:
                row.warned_80 = True
                self._warn(session, org, 80, row.events, quota)
        session.flush()
        return row.events

    def _warn(self, session: Session, org: Organisation, percent: int, used: int, quota: int) -> None:
        tail = (
            "Events past the quota are refused until next month or an upgrade."
            if percent == 100
            else "Upgrade the plan before the quota is reached to keep every event."
        )
        for owner in owners(session, organisation_id=org.id):
            self._mailer.send(
                session,
                organisation_id=org.id,
                to=owner.email,
                subject=f"{org.name} has used {percent}% of its monthly events",
                body=f"{org.name} has ingested {used:,} of the {quota:,} events its {org.plan} plan allows "
                f"this month.\n{tail}\n",
            )
