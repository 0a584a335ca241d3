"""The models and both migrations are one text for every database: compiled for SQLite,
PostgreSQL and MySQL, they agree with each other and carry each database's own options."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from support.rendering import ROOT, render, run

Environment = Callable[[Path], Path]


def test_one_schema_text_compiles_to_each_databases_ddl(
    tmp_path: Path, environment_for: Environment
) -> None:
    project = render(tmp_path, {"database": "sqlite"})
    python = environment_for(project) / "bin" / "python"
    script = ROOT / "support" / "ddl.py"
    command = [str(python), str(script), "example_service"]
    found = json.loads(run(command, cwd=project, env={"PYTHONPATH": str(project)}).stdout)
    tables = {
        name: {
            s.split(" (")[0].removeprefix("CREATE TABLE "): s
            for s in statements
            if s.startswith("CREATE TABLE")
        }
        for name, statements in found.items()
    }
    assert set(tables["sqlite"]) >= {"users", "items", "api_tokens", "idempotency_keys"}
    # SQLite: ids are never reused (a deleted item's URL must not name another).
    for table in ("users", "items", "api_tokens"):
        assert "PRIMARY KEY AUTOINCREMENT" in tables["sqlite"][table], table
    # MySQL: any Unicode, timestamps to the microsecond, 16 MiB bodies, case-sensitive keys.
    for statement in tables["mysql"].values():
        assert statement.endswith(")CHARSET=utf8mb4 COLLATE utf8mb4_unicode_ci"), statement
        assert " DATETIME NOT NULL" not in statement and "DATETIME(6) NOT NULL" in statement
    assert "`key` VARCHAR(255) COLLATE utf8mb4_bin NOT NULL" in tables["mysql"]["idempotency_keys"]
    assert "body MEDIUMBLOB NOT NULL" in tables["mysql"]["idempotency_keys"]
    # PostgreSQL: time zones kept, and none of the others' options.
    postgresql = " ".join(tables["postgresql"].values())
    assert "created_at TIMESTAMP WITH TIME ZONE NOT NULL" in postgresql
    assert "body BYTEA NOT NULL" in tables["postgresql"]["idempotency_keys"]
    for foreign in ("AUTOINCREMENT", "CHARSET", "COLLATE", "utf8mb4"):
        assert foreign not in postgresql
