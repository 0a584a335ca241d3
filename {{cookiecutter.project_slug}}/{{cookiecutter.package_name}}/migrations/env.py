"""Alembic's entry point. `flask init-db` passes in a connection from the app's engine; the
`alembic` command line creates the app to get one, so both use the same DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

# models is imported for its side effect: it registers the tables on Base.metadata.
from {{ cookiecutter.package_name }} import create_app, models  # noqa: F401
from {{ cookiecutter.package_name }}.core.db import Base, get_database

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: Alembic copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported: run against a database.")

given = context.config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    with get_database(create_app()).engine.begin() as connection:
        run_migrations(connection)
