"""Alembic's entry point. `flask init-db` passes in a connection from the app's engine; the
`alembic` command line creates the app to get one, so both use the same DATABASE_URL."""

from __future__ import annotations

from typing import Any

from alembic import context
from alembic.operations import ops
from sqlalchemy import Connection

# Imported for their side effect: models (and core.idempotency, which the package imports)
# register their tables on Base.metadata.
from {{ cookiecutter.package_name }} import create_app, models  # noqa: F401
from {{ cookiecutter.package_name }}.core.db import Base, get_database

target_metadata = Base.metadata


def drop_tables_with_their_indexes(_context: Any, _revision: Any, directives: Any) -> None:
    """Autogenerate drops a table's indexes before the table itself in a downgrade, and MySQL
    refuses to drop an index that a foreign key needs: dropping the table drops them all."""
    for script in directives:
        downgrade = script.downgrade_ops
        dropped = {op.table_name for op in downgrade.ops if isinstance(op, ops.DropTableOp)}
        downgrade.ops = _without_index_drops(downgrade.ops, dropped)


def _without_index_drops(
    operations: list[ops.MigrateOperation], tables: set[str]
) -> list[ops.MigrateOperation]:
    kept: list[ops.MigrateOperation] = []
    for op in operations:
        if isinstance(op, ops.DropIndexOp) and op.table_name in tables:
            continue
        if isinstance(op, ops.ModifyTableOps):
            op.ops = _without_index_drops(op.ops, tables)
            if not op.ops:
                continue
        kept.append(op)
    return kept


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        process_revision_directives=drop_tables_with_their_indexes,
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
