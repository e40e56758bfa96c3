"""A person's own details: the name shown to their organisations. (Their email, password, second factor and
sessions are the authentication service's: ``auth``.)"""

from __future__ import annotations

from sqlalchemy.orm import Session

from belvedere.accounts.models import User
from belvedere.platform.errors import Invalid

NAME_LENGTH = 200


def rename_user(session: Session, *, user: User, name: str) -> str:
    """Set the display name (spaces tidied; empty is allowed: the email stands in for it)."""
    tidy = " ".join(name.split())
    if len(tidy) > NAME_LENGTH:
        raise Invalid(f"Use at most {NAME_LENGTH} characters for your name.")
    user.name = tidy
    return tidy
