"""What an action is allowed to touch, and the record of it: the grant the web adapter (``web.access``)
resolves from the credentials and the path, handed to every use case, and the security-log line the use
case writes with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from belvedere.accounts.organisations import OrgView
from belvedere.accounts.roles import Role
from belvedere.accounts.service import ProjectInfo
from belvedere.auth import securitylog
from belvedere.auth.securitylog import Origin


@dataclass(frozen=True, slots=True)
class Grant:
    """One organisation (and project), with the role the caller holds there."""

    org: OrgView
    role: Role
    user_id: int | None
    project: ProjectInfo | None = None


@dataclass(frozen=True, slots=True)
class ProjectGrant(Grant):
    """A grant on one project of the organisation: what every project-scoped use case takes."""

    project: ProjectInfo


def audit(session: Session, grant: Grant, where: Origin, kind: str, **detail: Any) -> None:
    """One line in the security log of the organisation ``grant`` acts on."""
    securitylog.record(session, [grant.org.id], kind, actor=grant.user_id, where=where, **detail)
