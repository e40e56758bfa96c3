"""The metadata database: one SQLAlchemy engine per process, SQLite by default, PostgreSQL when configured."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import MetaData, create_engine, event, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


_AFTER_COMMIT = "belvedere.after_commit"


def after_commit(session: Session, action: Callable[[], object]) -> None:
    """Run ``action`` once the session's transaction has committed (never if it rolls back): for what must
    follow a change but is not in the database — forgetting cached keys, deleting a project's events."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The unit-of-work boundary: commit on success, roll back on error. Services never commit."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        actions = session.info.pop(_AFTER_COMMIT, [])
        session.close()
    for action in actions:
        action()


def claim(session: Session, column: Any, *where: Any, value: Any) -> bool:
    """Set ``column`` to ``value`` on the one row ``where`` picks, if the column is still NULL there, and say
    whether this call did it. One ``UPDATE … WHERE column IS NULL``: of callers racing for a single-use
    thing (a reset link, a refresh token, an invitation), exactly one wins, on SQLite and PostgreSQL alike."""
    table = column.class_
    statement = update(table).where(column.is_(None), *where).values({column.key: value})
    result = session.execute(statement.execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
