"""Migrations: the one way the schema is built, and in step with the models."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Engine, inspect

from {{ cookiecutter.package_name }}.core.db import Base
from {{ cookiecutter.package_name }}.core.migrate import alembic_config, upgrade

from .helpers import PACKAGE

PROJECT = Path(__file__).resolve().parents[1]
# The newest revision: the one the shipped schema has, or one a team added since.
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_an_empty_database_upgrades_to_head(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert {"users", "items", "alembic_version"} <= set(inspect(engine).get_table_names())


def test_init_db_is_safe_to_run_again(app: Flask) -> None:
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
    result = runner.invoke(args=["upgrade-db", "head"])
    assert result.exit_code == 0
    assert f"already at {HEAD}; nothing to do" in result.output


def test_going_back_is_a_downgrade_never_a_pretended_upgrade(app: Flask, engine: Engine) -> None:
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["upgrade-db", "base"])
    assert refused.exit_code == 1
    assert "use downgrade-db base" in refused.output
    assert "users" in inspect(engine).get_table_names()  # nothing changed
    try:
        back = runner.invoke(args=["downgrade-db", "base"])
        assert back.exit_code == 0, back.output
        assert f"downgraded from {HEAD} to base" in back.output
        assert "users" not in inspect(engine).get_table_names()
    finally:
        forward = runner.invoke(args=["upgrade-db"])
    assert forward.exit_code == 0, forward.output
    assert f"upgraded from base to {HEAD}" in forward.output


def test_an_unknown_revision_is_one_line(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["upgrade-db", "no-such-revision"])
    assert result.exit_code == 1
    assert "no-such-revision" in result.output and "Traceback" not in result.output


def test_an_unreachable_database_is_one_line_naming_the_fix(
    app_factory: Callable[..., Flask], unreachable_database_url: str
) -> None:
    app = app_factory(DATABASE_URL=unreachable_database_url)
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot use the database ")
    assert "DATABASE_URL" in result.output and len(result.output.splitlines()) == 1


def test_a_missing_setting_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    """What `flask --app ... init-db` prints when production settings are missing."""
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": "", "PYTHONPATH": str(PROJECT)}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", PACKAGE, "init-db"],
        cwd=tmp_path,  # no .env here: only the environment counts
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    # The first setting missing (a server URL, or SECRET_KEY), in one line, no traceback.
    assert result.stderr.startswith("Error: ") and "is not set" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
