"""Plans: limits and feature gates, and what an organisation's subscription status allows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from belvedere.config import PlanLimits
from belvedere.platform.errors import Forbidden

STATUSES = ("trial", "active", "past_due", "suspended", "expired")
LIMITS = ("projects", "members", "events_per_month", "dashboards", "alert_rules")


class PlanError(Forbidden):
    """Raised when a plan does not allow an action; ``code`` and ``details`` go into the API error."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message, code=code, details=details)


class Plans:
    def __init__(self, plans: dict[str, PlanLimits]) -> None:
        self._plans = plans

    def get(self, name: str) -> PlanLimits:
        # An organisation on a plan the operator has since removed keeps working on the cheapest one.
        return self._plans.get(name) or min(self._plans.values(), key=lambda p: p.rank)

    @property
    def names(self) -> list[str]:
        return sorted(self._plans, key=lambda n: self._plans[n].rank)

    def cheapest_with(self, feature: str) -> str | None:
        return next((n for n in self.names if feature in self._plans[n].features), None)

    def require_feature(self, plan: str, feature: str) -> None:
        if feature in self.get(plan).features:
            return
        required = self.cheapest_with(feature)
        raise PlanError(
            "plan_feature",
            f"The {plan} plan does not include {feature!r}"
            + (f"; upgrade to {required} or above." if required else "."),
            {"feature": feature, "plan": plan, "required_plan": required},
        )

    def check_limit(self, plan: str, limit: str, current: int, adding: int = 1) -> None:
        """Refuse to go from ``current`` to ``current + adding`` when that passes the plan's limit."""
        allowed: int | None = getattr(self.get(plan), limit)
        if allowed is not None and current + adding > allowed:
            raise PlanError(
                "plan_limit",
                f"The {plan} plan allows {allowed} {limit.replace('_', ' ')}; {current} in use. "
                "Remove some or upgrade the plan.",
                {"limit": limit, "plan": plan, "current": current, "allowed": allowed},
            )


def is_live(status: str, expires_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether the organisation may write (and ingest): not suspended, not expired, not past its expiry."""
    if status in ("suspended", "expired"):
        return False
    if expires_at is None:
        return True
    if expires_at.tzinfo is None:  # SQLite hands back naive datetimes; they were stored in UTC
        expires_at = expires_at.replace(tzinfo=UTC)
    return expires_at > (now or datetime.now(UTC))
