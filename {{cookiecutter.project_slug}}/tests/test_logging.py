"""Logs: one JSON object per line, each stamped with the context of its unit of work."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from flask.testing import FlaskClient

from .helpers import login

HEADER = "{{ cookiecutter.correlation_header }}"
Records = Callable[[], list[dict[str, Any]]]


def test_access_log_record(client: FlaskClient, log_records: Records) -> None:
    client.get("/healthz?secret=hidden", headers={HEADER: "log-1"})
    (access,) = [r for r in log_records() if r["logger"].endswith(".access")]
    assert access["method"] == "GET"
    assert access["path"] == "/healthz"
    assert access["status"] == 200
    assert access["duration_ms"] >= 0
    assert access["correlation_id"] == "log-1"
    assert access["user_id"] is None
    assert "hidden" not in str(access)  # query strings may carry secrets


def test_application_lines_carry_the_context(
    app: Flask, client: FlaskClient, user_email: str, log_records: Records
) -> None:
    @app.get("/chatty")
    def chatty() -> str:
        current_app.logger.info("doing work")
        return "ok"

    login(client, user_email)
    client.get("/chatty", headers={HEADER: "log-2"})
    me = client.get("/auth/me").json
    assert me is not None
    lines = [r for r in log_records() if r["correlation_id"] == "log-2"]
    assert {r["message"] for r in lines} == {"doing work", "request"}
    assert {r["user_id"] for r in lines} == {str(me["user"]["id"])}


def test_lines_outside_any_context_have_empty_fields(app: Flask, log_records: Records) -> None:
    app.logger.warning("at start-up")
    (record,) = log_records()
    assert record["correlation_id"] is None and record["user_id"] is None


def test_control_characters_never_reach_a_log_line_raw(
    app: Flask, client: FlaskClient, log_output: io.StringIO, log_records: Records
) -> None:
    @app.get("/echo")
    def echo() -> str:
        current_app.logger.info("got %s", request.args["value"])
        return "ok"

    client.get("/echo?value=a%0Ab%0Dc%1B[31md%00e%E2%80%A8f")
    raw = log_output.getvalue()
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f\u2028]", raw)
    messages = [r["message"] for r in log_records()]
    assert "got a\nb\rc\x1b[31md\x00e\u2028f" in messages
