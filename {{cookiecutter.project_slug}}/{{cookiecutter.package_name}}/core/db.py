"""Database: one SQLAlchemy Session per application context, created on first use.

The engine and sessionmaker live in `app.extensions`, so two apps in one process (tests,
a script that builds two) never share a pool. Nothing here connects until a query needs it.
What differs between databases is in `core/engine.py`; the migration commands are in
`core/migrate.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, event, exc, text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from werkzeug.local import LocalProxy

from .engine import create_db_engine
from .errors import register_unavailable

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["MAX_ID", "TIMESTAMP", "Base", "get_database", "get_db", "init_app", "on_commit"]

_G_KEY = "db_session"
_ON_COMMIT = "on_commit"
_EXTENSION = "database"
# Primary keys of the shipped schema are 32-bit: a larger id names no row, and is not worth
# a query (PostgreSQL would refuse it with an error).
MAX_ID = 2**31 - 1
# Timestamps with their time zone; MySQL drops fractions of a second unless the column keeps
# them. Each database reads its own options (SQLAlchemy's dialect variants and keyword
# arguments) and ignores the others', so the models and migrations are one text for all.
TIMESTAMP = DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql")
TABLE_OPTIONS = {
    # Without AUTOINCREMENT, SQLite gives a new row the id of a deleted last one: an old URL
    # (a Location, a link in another service) would then name another row.
    "sqlite_autoincrement": True,
    # Whatever the server's default, text columns hold any Unicode (emoji included).
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}


class Base(DeclarativeBase):
    __table_args__ = (TABLE_OPTIONS,)
    # Named constraints make migrations reproducible across databases.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessionmaker: sessionmaker[Session]


def get_database(app: Flask | None = None) -> Database:
    return cast(Database, (app or current_app).extensions[_EXTENSION])


def get_db() -> Session:
    """The Session of the current application context, created on first use."""
    session: Session | None = g.get(_G_KEY)
    if session is None:
        session = get_database().sessionmaker()
        setattr(g, _G_KEY, session)
    return session


def on_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the transaction of `get_db()` commits, and never if it rolls back
    (Django's `transaction.on_commit`): a job enqueued before the commit could run before
    its row exists, or for a row that never will."""
    get_db().info.setdefault(_ON_COMMIT, []).append(callback)


def _run_on_commit(session: Session) -> None:
    for callback in session.info.pop(_ON_COMMIT, []):
        callback()


def _drop_on_commit(session: Session) -> None:
    session.info.pop(_ON_COMMIT, None)


def teardown_db(error: BaseException | None = None) -> None:
    """Roll back when the context ended with an error, and always close.

    Idempotent: the session is popped from `g`, so a second call finds nothing. Views
    commit their own work; a commit here could not change the response any more.
    """
    session: Session | None = g.pop(_G_KEY, None)
    if session is None:
        return
    try:
        if error is not None:
            session.rollback()
    finally:
        session.close()


def ping(app: Flask) -> None:
    with get_database(app).engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def init_app(app: Flask) -> None:
    """Reads DATABASE_URL and DATABASE_POOL_SIZE."""
    engine = create_db_engine(app.config["DATABASE_URL"], app.config["DATABASE_POOL_SIZE"])
    # expire_on_commit=False keeps loaded objects (current_user) usable after a commit.
    sessions = sessionmaker(engine, expire_on_commit=False)
    event.listen(sessions, "after_commit", _run_on_commit)
    event.listen(sessions, "after_rollback", _drop_on_commit)
    app.extensions[_EXTENSION] = Database(engine=engine, sessionmaker=sessions)
    app.teardown_appcontext(teardown_db)
    register_unavailable(app, (exc.OperationalError, exc.TimeoutError), "database", "DATABASE_URL")


db = cast(Session, LocalProxy(get_db))
