"""Background threads get their own application context and the caller's context, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import pytest
from flask import Flask, g

from {{ cookiecutter.package_name }}.core.background import submit
from {{ cookiecutter.package_name }}.core.context import current_context, with_correlation_id
from {{ cookiecutter.package_name }}.core.db import get_db

from .helpers import HEADER, login


def describe() -> dict[str, Any]:
    return {
        "correlation_id": current_context.correlation_id,
        "user_id": current_context.user_id,
        "trace_id": current_context.trace_id,
        "marker": g.get("marker"),
        "session": id(get_db()),
    }


def add_starter(app: Flask) -> None:
    @app.get("/start")
    def start() -> dict[str, Any]:
        g.marker = "request only"
        mine = {"session": id(get_db()), "trace_id": current_context.trace_id}
        return {"mine": mine, "worker": submit(describe).result(timeout=10)}


def test_the_worker_carries_the_callers_context(app: Flask, user_email: str) -> None:
    add_starter(app)
    client = app.test_client()
    login(client, user_email)
    me = client.get("/auth/me").json
    body = client.get("/start", headers={HEADER: "bg-1"}).json
    assert me is not None and body is not None
    worker = body["worker"]
    assert worker["correlation_id"] == "bg-1"
    assert worker["user_id"] == str(me["user"]["id"])
    assert worker["trace_id"] == body["mine"]["trace_id"]


def test_the_worker_has_its_own_g_and_session(app: Flask) -> None:
    add_starter(app)
    body = app.test_client().get("/start").json
    assert body is not None
    assert body["worker"]["marker"] is None
    assert body["worker"]["session"] != body["mine"]["session"]


def test_nothing_leaks_from_one_job_to_the_next(app: Flask) -> None:
    add_starter(app)
    client = app.test_client()
    ids = [client.get("/start", headers={HEADER: f"job-{n}"}).json for n in range(6)]
    assert [body["worker"]["correlation_id"] for body in ids] == [f"job-{n}" for n in range(6)]  # type: ignore[index]


def test_work_started_from_a_cli_command(app: Flask) -> None:
    @app.cli.command("kick-off")
    @with_correlation_id
    def kick_off() -> None:
        click.echo(submit(describe).result(timeout=10)["correlation_id"])

    result = app.test_cli_runner().invoke(args=["kick-off"], env={"CORRELATION_ID": "from-env"})
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "from-env"


def test_orm_objects_are_refused(app: Flask, user_email: str) -> None:
    from {{ cookiecutter.package_name }}.models import User

    with app.app_context():
        user = get_db().query(User).first()
        with pytest.raises(TypeError, match="plain data"):
            submit(describe, user)
        with pytest.raises(TypeError, match="plain data"):
            submit(describe, session=get_db())


def test_failures_are_logged_with_the_context(
    app: Flask, log_records: Callable[[], list[dict[str, Any]]]
) -> None:
    def fail() -> None:
        raise RuntimeError("job exploded")

    with app.app_context():
        expected = current_context.correlation_id
        future = submit(fail)
        with pytest.raises(RuntimeError):
            future.result(timeout=10)
    (record,) = [r for r in log_records() if r["message"] == "background work failed"]
    assert record["correlation_id"] == expected
    assert "job exploded" in record["exc_info"]


def test_results_must_be_plain_data(app: Flask) -> None:
    with app.app_context():
        future = submit(object)
        with pytest.raises(TypeError, match="plain data"):
            future.result(timeout=10)
