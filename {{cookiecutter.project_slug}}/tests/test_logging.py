"""Logs: one JSON object per line, each stamped with the context of its unit of work."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.core.context import ENVIRON_USER
from {{ cookiecutter.package_name }}.core.logs import GunicornAccessFilter

from .helpers import HEADER, login

Records = Callable[[], list[dict[str, Any]]]


def test_access_log_record(client: FlaskClient, log_records: Records) -> None:
    client.get("/items?secret=hidden", headers={HEADER: "log-1"})
    (access,) = [r for r in log_records() if r["logger"].endswith(".access")]
    assert access["method"] == "GET"
    assert access["path"] == "/items"
    assert access["status"] == 200
    assert access["duration_ms"] >= 0
    assert access["correlation_id"] == "log-1"
    assert access["user_id"] is None
    assert "hidden" not in str(access)  # query strings may carry secrets


def test_probes_are_logged_at_debug_only(client: FlaskClient, log_records: Records) -> None:
    client.get("/healthz")
    client.get("/readyz")
    assert [r for r in log_records() if r["message"] != "service configured"] == []
    logging.getLogger("{{ cookiecutter.package_name }}.access").setLevel(logging.DEBUG)
    try:
        client.get("/healthz", headers={HEADER: "probe-1"})
    finally:
        logging.getLogger("{{ cookiecutter.package_name }}.access").setLevel(logging.NOTSET)
    (probe,) = [r for r in log_records() if r["message"] != "service configured"]
    assert (probe["level"], probe["path"]) == ("DEBUG", "/healthz")
    assert probe["correlation_id"] == "probe-1"


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


def test_without_the_app_access_log_the_server_gets_the_user_id(
    app_factory: Callable[..., Flask], user_email: str, log_records: Records
) -> None:
    app = app_factory(ACCESS_LOG=False)
    seen: list[object] = []
    app.teardown_request(lambda _error: seen.append(request.environ.get(ENVIRON_USER)))
    client = app.test_client()
    login(client, user_email)
    response = client.get("/auth/me")
    assert response.json is not None
    assert seen[-1] == str(response.json["user"]["id"])
    assert [r for r in log_records() if r["logger"].endswith(".access")] == []
    # gunicorn's access line reads it from the environ, the id from the response header.
    record = logging.LogRecord("gunicorn.access", logging.INFO, "", 0, "", None, None)
    record.args = {
        "{" + ENVIRON_USER + "}e": "7",
        "{" + HEADER.lower() + "}o": "abc",
        "m": "GET",
        "U": "/items",
        "s": "200",
    }
    assert GunicornAccessFilter().filter(record)
    fields = record.__dict__
    assert (fields["user_id"], fields["correlation_id"], fields["path"]) == ("7", "abc", "/items")
