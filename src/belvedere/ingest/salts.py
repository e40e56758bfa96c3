"""Daily salts for cookieless visitor ids (Plausible's scheme).

A random salt is made for each UTC day and kept in the metadata database so that every process agrees on
it. A visitor id is a keyed hash of (salt, project, IP, user agent): it cannot be reversed to an IP, and once
a salt is deleted the ids made with it can no longer be linked to anyone. Today's and yesterday's salts are
kept (yesterday's lets a visit survive midnight); older ones are deleted, so no salt lives beyond 48 hours.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Date, DateTime, LargeBinary, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from belvedere.platform.db import Base, transaction


class DailySalt(Base):
    __tablename__ = "daily_salts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def visitor_hash(salt: bytes, project_id: int, ip: str, user_agent: str) -> str:
    data = f"{project_id}\x1f{ip}\x1f{user_agent}".encode()
    return hashlib.blake2b(data, key=salt, digest_size=8).hexdigest()


class SaltRing:
    """Today's and yesterday's salts, rotated when the UTC day changes."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessions
        self._clock = clock
        self._lock = threading.Lock()
        self._day = -1
        self._today = b""
        self._yesterday: bytes | None = None

    def salts(self) -> tuple[bytes, bytes | None]:
        day = int(self._clock() // 86400)
        if day != self._day:
            with self._lock:
                if day != self._day:
                    self._rotate(day)
        return self._today, self._yesterday

    def _rotate(self, day_number: int) -> None:
        today = date(1970, 1, 1) + timedelta(days=day_number)
        yesterday = today - timedelta(days=1)
        try:
            with transaction(self._sessions) as session:
                session.execute(delete(DailySalt).where(DailySalt.day < yesterday))
                if session.get(DailySalt, today) is None:
                    session.add(
                        DailySalt(day=today, salt=secrets.token_bytes(32), created_at=datetime.now(UTC))
                    )
        except IntegrityError:
            pass  # another process made today's salt first; read theirs below
        with transaction(self._sessions) as session:
            rows = {
                r.day: r.salt for r in session.scalars(select(DailySalt).where(DailySalt.day >= yesterday))
            }
        self._today, self._yesterday, self._day = rows[today], rows.get(yesterday), day_number
