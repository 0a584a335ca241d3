"""Database: one SQLAlchemy Session per application context, created on first use.

The engine and sessionmaker live in `app.extensions`, so two apps in one process (tests,
a script that builds two) never share a pool. Nothing here connects until a query needs it.
"""

from __future__ import annotations

{% if cookiecutter.database == "sqlite" -%}
import contextlib
import os
{% endif -%}
{% if cookiecutter.database != "sqlite" -%}
import time
{% endif -%}
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError as AlembicCommandError
from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, exc, text
{%- if cookiecutter.database == "mysql" %}
from sqlalchemy.dialects.mysql import DATETIME
{%- endif %}
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from werkzeug.local import LocalProxy

{% if cookiecutter.database == "sqlite" -%}
from .config import ConfigError
{% endif -%}
from .context import with_correlation_id
from .errors import register_unavailable

_G_KEY = "db_session"
_ON_COMMIT = "on_commit"
# The revisions are the application's: they live beside the models, not in core/.
MIGRATIONS = Path(__file__).parents[1] / "migrations"
# Primary keys of the shipped schema are 32-bit: a larger id names no row, and is not worth
# a query (PostgreSQL would refuse it with an error).
MAX_ID = 2**31 - 1
_EXTENSION = "database"
# What a command says after a database error: the fix to try first.
{%- if cookiecutter.database == "sqlite" %}
HINT = ". Check DATABASE_URL: its folder must exist and be writable."
{%- else %}
HINT = ". Is the server running, and does DATABASE_URL (in .env) name it right?"
{%- endif %}
{%- if cookiecutter.database != "sqlite" %}
# A connection idle in the pool for longer is pinged before use (_ping_if_idle).
IDLE_PING_SECONDS = 30.0
{%- endif %}


{%- if cookiecutter.database == "mysql" %}
# Timestamps with their time zone; MySQL drops fractions of a second unless the column keeps
# them.
TIMESTAMP = DateTime(timezone=True).with_variant(DATETIME(fsp=6), "mysql")
{%- else %}
# Timestamps with their time zone.
TIMESTAMP = DateTime(timezone=True)
{%- endif %}


class Base(DeclarativeBase):
{%- if cookiecutter.database == "mysql" %}
    # Whatever the server's default, text columns hold any Unicode (emoji included).
    __table_args__ = ({"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"},)
{%- elif cookiecutter.database == "sqlite" %}
    # Without AUTOINCREMENT, SQLite gives a new row the id of a deleted last one: an old URL
    # (a Location, a link in another service) would then name another row.
    __table_args__ = ({"sqlite_autoincrement": True},)
{%- endif %}
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
{%- if cookiecutter.database == "sqlite" %}


def _private_file(path: str) -> Callable[..., None]:
    """Create the database file readable by this user only (it holds password hashes) before
    SQLite creates it with the umask's permissions; its -wal and -shm files follow it."""

    def create(*_args: Any) -> None:
        # O_EXCL: an existing file is never opened here. Closing any descriptor of a SQLite
        # file drops every lock this process holds on it, under the other connections' feet.
        with contextlib.suppress(OSError):  # it exists, or SQLite reports the bad path (503)
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))

    return create


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked; WAL lets readers run beside one writer,
    # which is what several gunicorn workers on one machine need.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
{%- else %}


# Hosting platforms hand out URLs without a driver (or with the legacy "postgres" scheme).
{%- if cookiecutter.database == "postgresql" %}
_DRIVERS = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg"}
{%- elif cookiecutter.database == "mysql" %}
_DRIVERS = {"mysql": "mysql+pymysql", "mariadb": "mysql+pymysql"}
{%- endif %}


def normalize_url(url: str) -> str:
    """Name the installed driver explicitly, whatever form the URL came in."""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is not None:
        parsed = parsed.set(drivername=driver)
{%- if cookiecutter.database == "mysql" %}
    if "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
{%- endif %}
    return parsed.render_as_string(hide_password=False)
{%- endif %}


{% if cookiecutter.database != "sqlite" -%}
def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Callable[[Any, Any, Any], None]:
    """pool_pre_ping for connections that sat idle in the pool: what firewalls, load balancer
    idle timeouts and database restarts drop is replaced before a request uses it, and a
    busy service pays no round trip."""

    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool throws this connection away and checks out another.
            raise exc.DisconnectionError(str(error)) from error

    return ping


{% endif -%}
def create_db_engine(url: str, pool_size: int) -> Engine:
{%- if cookiecutter.database == "sqlite" %}
    if make_url(url).database in (None, "", ":memory:"):
        # Every pooled connection would get its own empty database.
        raise ConfigError("DATABASE_URL must name a SQLite file, not an in-memory database")
{%- endif %}
    engine = create_engine(
        {% if cookiecutter.database == "sqlite" %}url{% else %}normalize_url(url){% endif %},
        pool_size=pool_size,
        pool_timeout=5,
{%- if cookiecutter.database != "sqlite" %}
        # No pool_pre_ping, which costs a round trip on every checkout, that is on every
        # request that queries: only connections that sat idle are pinged (_ping_if_idle).
        # One that dies in use is found by its query (503) and SQLAlchemy replaces the pool.
        pool_recycle=1800,
        # Fail fast when the server is unreachable instead of holding a worker.
        connect_args={"connect_timeout": 3},
{%- endif %}
    )
{%- if cookiecutter.database == "sqlite" %}
    event.listen(engine, "do_connect", _private_file(str(make_url(url).database)))
    event.listen(engine, "connect", _sqlite_pragmas)
{%- else %}
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle(engine))
{%- endif %}
    return engine


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


def alembic_config() -> AlembicConfig:
    """Alembic's settings without alembic.ini, so an installed package can migrate too."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`: the one way tables are created or changed."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_behind(revision: str, current: str | None) -> bool:
    """True when `revision` is older than the database's `current` one."""
    if revision == "base":
        return current is not None
    script = ScriptDirectory.from_config(alembic_config())
    target = script.get_revision(revision)  # an unknown revision raises CommandError
    if target is None or current is None or target.revision == current:
        return False
    older = script.iterate_revisions(current, "base")
    return any(found.revision == target.revision for found in older)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to `revision`, running each newer migration's downgrade."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def describe(url: URL, error: exc.OperationalError) -> str:
    """One line naming the database and what went wrong, for a command's error message."""
    reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return f"cannot use the database {url.render_as_string(hide_password=True)}: {reason}"
{%- if cookiecutter.database != "sqlite" %}


def create_missing_database(url: URL) -> bool:
    """Create the database `url` names when its server is up and lacks it; True if created.

    For development only: production databases are created by whoever runs the server.
    """
{%- if cookiecutter.database == "postgresql" %}
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    exists = text("SELECT 1 FROM pg_database WHERE datname = :name")
    create = "CREATE DATABASE {}"
{%- else %}
    admin = create_engine(url.set(database=""), isolation_level="AUTOCOMMIT")
    exists = text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :name")
    create = "CREATE DATABASE {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
{%- endif %}
    try:
        with admin.connect() as connection:
            if connection.scalar(exists, {"name": url.database}) is not None:
                return False
            name = admin.dialect.identifier_preparer.quote(str(url.database))
            connection.execute(text(create.format(name)))
            return True
    except exc.DBAPIError:
        return False  # the server is down, or this user may not create databases
    finally:
        admin.dispose()
{%- endif %}


@contextmanager
def explained(engine: Engine) -> Iterator[None]:
    """Database and migration failures as one line naming the fix, not a traceback."""
    try:
        yield
    except exc.OperationalError as error:
        raise click.ClickException(describe(engine.url, error) + HINT) from None
    except AlembicCommandError as error:
        raise click.ClickException(str(error)) from None


@click.command("init-db")
@with_correlation_id
def init_db_command() -> None:
    """Create the schema, or bring an existing one up to date (safe to run again)."""
    engine = get_database().engine
{%- if cookiecutter.database != "sqlite" %}
    try:
        current_revision(engine)
    except exc.OperationalError:
        if current_app.config["APP_ENV"] == "development" and create_missing_database(engine.url):
            click.echo(f"Created the database {engine.url.database}.")
{%- endif %}
    with explained(engine):
        upgrade(engine)
    click.echo("Initialized the database.")


def report_move(before: str | None, after: str | None, moved: str) -> None:
    """Say what a migration command did, and never claim a move that did not happen."""
    if after == before:
        click.echo(f"The database is already at {after or 'base'}; nothing to do.")
    else:
        click.echo(f"Database {moved} from {before or 'base'} to {after or 'base'}.")


@click.command("upgrade-db")
@click.argument("revision", default="head")
@with_correlation_id
def upgrade_db_command(revision: str) -> None:
    """Apply the migrations up to REVISION (default: the latest)."""
    engine = get_database().engine
    with explained(engine):
        current = current_revision(engine)
        if is_behind(revision, current):
            raise click.ClickException(
                f"The database is at {current}, newer than {revision}: "
                f"use downgrade-db {revision} to go back."
            )
        upgrade(engine, revision)
        report_move(current, current_revision(engine), "upgraded")


@click.command("downgrade-db")
@click.argument("revision")
@with_correlation_id
def downgrade_db_command(revision: str) -> None:
    """Undo the migrations newer than REVISION ("base" undoes them all). Data they added is lost."""
    engine = get_database().engine
    with explained(engine):
        current = current_revision(engine)
        downgrade(engine, revision)
        report_move(current, current_revision(engine), "downgraded")


def init_app(app: Flask) -> None:
    engine = create_db_engine(app.config["DATABASE_URL"], app.config["DATABASE_POOL_SIZE"])
    # expire_on_commit=False keeps loaded objects (current_user) usable after a commit.
    sessions = sessionmaker(engine, expire_on_commit=False)
    event.listen(sessions, "after_commit", _run_on_commit)
    event.listen(sessions, "after_rollback", _drop_on_commit)
    app.extensions[_EXTENSION] = Database(engine=engine, sessionmaker=sessions)
    app.teardown_appcontext(teardown_db)
    app.cli.add_command(init_db_command)
    app.cli.add_command(upgrade_db_command)
    app.cli.add_command(downgrade_db_command)
    register_unavailable(app, (exc.OperationalError, exc.TimeoutError), "database")


db = cast(Session, LocalProxy(get_db))
