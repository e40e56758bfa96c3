"""Personal API keys: a user's programmatic access to one organisation, capped by scopes, shown once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from belvedere.accounts.keys import hash_key, new_personal_key, note_use
from belvedere.accounts.models import PersonalApiKey
from belvedere.accounts.roles import SCOPES


@dataclass(frozen=True, slots=True)
class KeyOwner:
    key_id: int
    user_id: int
    organisation_id: int
    scopes: list[str]


def _view(key: PersonalApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "label": key.label,
        "prefix": key.prefix,
        "user_id": key.user_id,
        "scopes": key.scopes.split(),
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def create_key(
    session: Session, *, organisation_id: int, user_id: int, label: str, scopes: Sequence[str]
) -> tuple[dict[str, object], str]:
    """The new key's description and the key itself: the only time it is visible."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}")
    secret = new_personal_key()
    key = PersonalApiKey(
        organisation_id=organisation_id,
        user_id=user_id,
        label=label,
        prefix=secret[:10],
        key_hash=hash_key(secret),
        scopes=" ".join(s for s in SCOPES if s in scopes),
    )
    session.add(key)
    session.flush()
    return _view(key), secret


def list_keys(
    session: Session, *, organisation_id: int, user_id: int | None = None
) -> list[dict[str, object]]:
    query = select(PersonalApiKey).where(PersonalApiKey.organisation_id == organisation_id)
    if user_id is not None:
        query = query.where(PersonalApiKey.user_id == user_id)
    return [_view(k) for k in session.scalars(query.order_by(PersonalApiKey.id))]


def get_key(session: Session, *, organisation_id: int, key_id: int) -> PersonalApiKey | None:
    key = session.get(PersonalApiKey, key_id)
    return key if key is not None and key.organisation_id == organisation_id else None


def revoke_key(session: Session, *, key: PersonalApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        session.flush()


def authenticate_key(session: Session, *, secret: str) -> KeyOwner | None:
    key = session.scalar(
        select(PersonalApiKey).where(
            PersonalApiKey.key_hash == hash_key(secret), PersonalApiKey.revoked_at.is_(None)
        )
    )
    if key is None:
        return None
    note_use(key)
    return KeyOwner(key.id, key.user_id, key.organisation_id, key.scopes.split())
