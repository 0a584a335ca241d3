"""The context object: one per unit of work, lazy, inside and outside requests, never leaking."""

from __future__ import annotations

import re
from typing import Any

import click
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import user_accessed

from {{ cookiecutter.package_name }}.context import ServiceContext, current_context
from {{ cookiecutter.package_name }}.core.context import Context, FlaskContext, get_current_context

from .helpers import HEADER, login

GENERATED = re.compile(r"[0-9a-f]{32}")


def add_probe(app: Flask, *, read_user: bool) -> None:
    @app.get("/probe")
    def probe() -> dict[str, Any]:
        body: dict[str, Any] = {
            "correlation_id": current_context.correlation_id,
            "context_object": id(get_current_context()),
            "method": current_context.method,
            "path": current_context.path,
        }
        if read_user:
            body["user_id"] = current_context.user_id
        return body


def test_context_in_a_request(app: Flask) -> None:
    add_probe(app, read_user=True)
    body = app.test_client().get("/probe", headers={HEADER: "req-1"}).json
    assert body is not None
    assert body["correlation_id"] == "req-1"
    assert (body["method"], body["path"]) == ("GET", "/probe")
    assert body["user_id"] is None


def test_user_id_comes_from_flask_login(app: Flask, client: FlaskClient, user_email: str) -> None:
    add_probe(app, read_user=True)
    login(client, user_email)
    me = client.get("/auth/me").json
    body = client.get("/probe").json
    assert me is not None and body is not None
    assert body["user_id"] == str(me["user"]["id"])


def test_user_is_not_loaded_unless_asked(app: Flask, user_email: str) -> None:
    add_probe(app, read_user=False)
    client = app.test_client()
    login(client, user_email)
    loads: list[object] = []
    # flask-login sends user_accessed whenever it loads the user for a request.
    with user_accessed.connected_to(lambda sender: loads.append(sender), app):
        assert client.get("/probe").status_code == 200
        assert loads == []
        assert client.get("/auth/me").status_code == 200
        assert loads == [app]


def test_nothing_leaks_between_requests_on_one_thread(app: Flask) -> None:
    add_probe(app, read_user=False)
    client = app.test_client()
    first = client.get("/probe", headers={HEADER: "first"}).json
    second = client.get("/probe").json
    assert first is not None and second is not None
    assert second["correlation_id"] != "first"
    assert GENERATED.fullmatch(second["correlation_id"])


def test_outside_a_request_a_fresh_id_per_app_context(app: Flask) -> None:
    with app.app_context():
        first = current_context.correlation_id
        assert current_context.correlation_id == first  # stable within the context
        assert current_context.user_id is None
        assert current_context.path is None
    with app.app_context():
        second = current_context.correlation_id
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


def test_cli_commands_get_a_context(app: Flask) -> None:
    @app.cli.command("show-context")
    def show_context() -> None:
        click.echo(current_context.correlation_id)

    result = app.test_cli_runner().invoke(args=["show-context"])
    assert result.exit_code == 0, result.output
    assert GENERATED.fullmatch(result.output.strip())


def test_no_context_outside_an_application_context() -> None:
    with pytest.raises(RuntimeError):
        _ = current_context.correlation_id


def test_the_service_context_class_is_used(app: Flask) -> None:
    with app.app_context():
        assert isinstance(get_current_context(), ServiceContext)


def test_a_user_defined_context_class() -> None:
    class TenantContext(Context):
        @property
        def tenant(self) -> str:
            return "tenant-of-" + self.correlation_id

    app = Flask(__name__)
    FlaskContext(app, TenantContext)

    @app.get("/tenant")
    def tenant() -> str:
        return current_context.tenant  # type: ignore[attr-defined,no-any-return]

    response = app.test_client().get("/tenant", headers={HEADER: "t1"})
    assert response.get_data(as_text=True) == "tenant-of-t1"
    assert response.headers[HEADER] == "t1"
