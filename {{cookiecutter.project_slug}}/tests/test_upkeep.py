"""Upkeep: `flask prune` removes what expired, one log line per task, and a task that fails
neither stops the others nor passes unnoticed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select, update

from {{ cookiecutter.package_name }}.core import upkeep
from {{ cookiecutter.package_name }}.core.db import get_db
from {{ cookiecutter.package_name }}.models import ApiToken

from .helpers import create_api_token

Records = Callable[[], list[dict[str, Any]]]


def tokens(app: Flask) -> int:
    with app.app_context():
        return int(get_db().scalar(select(func.count()).select_from(ApiToken)) or 0)


def test_prune_removes_expired_tokens_and_logs_each_task(
    app: Flask, user_email: str, log_records: Records
) -> None:
    create_api_token(app, user_email, "expired")
    create_api_token(app, user_email, "live")
    with app.app_context():
        db = get_db()
        db.execute(
            update(ApiToken)
            .where(ApiToken.name == "expired")
            .values(expires_at=datetime.now(UTC) - timedelta(days=1))
        )
        db.commit()
    result = app.test_cli_runner().invoke(args=["prune"])
    assert result.exit_code == 0, result.output
    assert "Removed 1 expired API tokens." in result.output
    assert tokens(app) == 1
    done = {r["task"]: r for r in log_records() if r["message"] == "upkeep done"}
    assert {"expired API tokens", "expired idempotency keys"} <= set(done)
    assert done["expired API tokens"]["removed"] == 1
    assert all(r["correlation_id"] for r in done.values())


def test_a_failing_task_is_an_error_line_and_the_others_still_run(
    app: Flask, log_records: Records
) -> None:
    def broken() -> int:
        raise RuntimeError("the disk is gone")

    upkeep.register(app, "broken things", broken)
    result = app.test_cli_runner().invoke(args=["prune"])
    assert result.exit_code == 1
    assert "some upkeep failed" in result.output
    (failed,) = [r for r in log_records() if r["message"] == "upkeep failed"]
    assert (failed["level"], failed["task"]) == ("ERROR", "broken things")
    assert {r["task"] for r in log_records() if r["message"] == "upkeep done"} >= {
        "expired API tokens"
    }
