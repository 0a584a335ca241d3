"""Run with a rendered project's interpreter and the project on PYTHONPATH: `ddl.py PACKAGE`.

Prints, for SQLite, PostgreSQL and MySQL, the DDL of the models and fails unless the
migrations (run offline, in order) write the same statements: the schema is one text for
every database, each reading its own options (SQLAlchemy's dialect keyword arguments and
type variants) and ignoring the others'. No driver and no server is needed to compile.
"""

from __future__ import annotations

import importlib
import io
import json
import re
import sys

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

DIALECTS = {
    "sqlite": sqlite.dialect(),
    "postgresql": postgresql.dialect(),
    "mysql": mysql.dialect(),
}


def normalized(statement: str) -> str:
    return re.sub(r"\s+", " ", statement).strip().rstrip(";").strip()


def main(package: str) -> dict[str, list[str]]:
    importlib.import_module(f"{package}.models")
    metadata = importlib.import_module(f"{package}.core.db").Base.metadata
    config = importlib.import_module(f"{package}.core.migrate").alembic_config()
    revisions = list(reversed(list(ScriptDirectory.from_config(config).walk_revisions())))
    found = {}
    for name, dialect in DIALECTS.items():
        tables = metadata.sorted_tables
        models = [normalized(str(CreateTable(t).compile(dialect=dialect))) for t in tables]
        models += [
            normalized(str(CreateIndex(index).compile(dialect=dialect)))
            for table in tables
            for index in sorted(table.indexes, key=lambda index: str(index.name))
        ]
        output = io.StringIO()
        context = MigrationContext.configure(
            dialect_name=name, opts={"as_sql": True, "output_buffer": output}
        )
        with Operations.context(context):
            for revision in revisions:
                revision.module.upgrade()
        migrated = {normalized(s) for s in output.getvalue().split(";") if s.strip()}
        missing = [statement for statement in models if statement not in migrated]
        if missing:
            raise SystemExit(f"{name}: the migrations do not create what the models say: {missing}")
        found[name] = models
    return found


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
