"""Migrations: Alembic without alembic.ini, and the `flask` commands that run it.

`upgrade` is the one way tables are created or changed; `init-db`, `upgrade-db` and
`downgrade-db` report what they did in one line, and a failure as one line naming the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError as AlembicCommandError
from flask import Flask, current_app
from sqlalchemy import Engine, exc
from sqlalchemy.engine import URL

from .context import with_correlation_id
from .db import get_database
from .engine import HINT, create_missing_database

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["init_app", "upgrade"]

# The revisions are the application's: they live beside the models, not in core/.
MIGRATIONS = Path(__file__).parents[1] / "migrations"


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


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to `revision`, running each newer migration's downgrade."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


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


def describe(url: URL, error: exc.OperationalError) -> str:
    """One line naming the database and what went wrong, for a command's error message."""
    reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return f"cannot use the database {url.render_as_string(hide_password=True)}: {reason}"


@contextmanager
def explained(engine: Engine) -> Iterator[None]:
    """Database and migration failures as one line naming the fix, not a traceback."""
    try:
        yield
    except exc.OperationalError as error:
        raise click.ClickException(describe(engine.url, error) + HINT) from None
    except AlembicCommandError as error:
        raise click.ClickException(str(error)) from None


def report_move(before: str | None, after: str | None, moved: str) -> None:
    """Say what a migration command did, and never claim a move that did not happen."""
    if after == before:
        click.echo(f"The database is already at {after or 'base'}; nothing to do.")
    else:
        click.echo(f"Database {moved} from {before or 'base'} to {after or 'base'}.")


@click.command("init-db")
@with_correlation_id
def init_db_command() -> None:
    """Create the schema, or bring an existing one up to date (safe to run again)."""
    engine = get_database().engine
    try:
        current_revision(engine)
    except exc.OperationalError:
        if current_app.config["APP_ENV"] == "development" and create_missing_database(engine.url):
            click.echo(f"Created the database {engine.url.database}.")
    with explained(engine):
        upgrade(engine)
    click.echo("Initialized the database.")


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
    """Reads APP_ENV (init-db creates a missing database in development only)."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(upgrade_db_command)
    app.cli.add_command(downgrade_db_command)
