"""Inputs and failures that once slipped past: each gets a clear answer, never a bare 500."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, run_wsgi_app

from {{ cookiecutter.package_name }}.auth import REMEMBER_COOKIE, load_user, login_required
from {{ cookiecutter.package_name }}.core.db import get_db
from {{ cookiecutter.package_name }}.models import User

from .helpers import HEADER, create_test_user, login

Records = Callable[[], list[dict[str, Any]]]


def test_a_failed_commit_in_a_logged_in_request_is_a_json_500(
    app_factory: Callable[..., Flask], user_email: str, log_records: Records
) -> None:
    app = app_factory(PROPAGATE_EXCEPTIONS=False)

    @app.post("/duplicate")
    @login_required
    def duplicate() -> str:
        session = get_db()
        session.add(User(email=user_email, password_hash="x"))
        session.commit()  # violates the unique e-mail: the session rolls back
        return "unreachable"

    client = app.test_client()
    token = login(client, user_email)
    response = client.post("/duplicate", headers={"X-CSRF-Token": token, HEADER: "boom-1"})
    assert response.status_code == 500
    assert response.headers[HEADER] == "boom-1"
    assert response.json is not None and response.json["correlation_id"] == "boom-1"
    access = [r for r in log_records() if r["logger"].endswith(".access")]
    assert [(r["path"], r["status"]) for r in access][-1] == ("/duplicate", 500)


def test_another_apps_remember_cookie_is_ignored(client: FlaskClient) -> None:
    # flask-login's default name, as another app on the same domain may set it.
    client.set_cookie("remember_token", "1|\u00e9\u00e9")
    assert client.get("/auth/me").status_code == 401
    assert client.post("/items", json={"name": "x"}).status_code == 401


def test_a_forged_remember_cookie_is_refused(client: FlaskClient, user_email: str) -> None:
    login(client, user_email)
    client.set_cookie(REMEMBER_COOKIE, "1|\u00e9\u00e9")
    for response in (client.get("/auth/me"), client.get("/items")):
        assert response.status_code == 400
        assert response.json is not None and REMEMBER_COOKIE in response.json["message"]
    client.delete_cookie(REMEMBER_COOKIE)
    assert client.get("/auth/me").status_code == 200


def test_a_csrf_token_does_not_survive_a_change_of_user(
    app: Flask, client: FlaskClient, user_email: str
) -> None:
    other = create_test_user(app, "other@example.com")
    first_token = login(client, user_email)
    login(client, other)
    response = client.post("/items", json={"name": "x"}, headers={"X-CSRF-Token": first_token})
    assert response.status_code == 403


def test_a_chunked_body_over_the_limit_is_413(app_factory: Callable[..., Flask]) -> None:
    client = app_factory(MAX_CONTENT_LENGTH=1024).test_client()
    body = io.BytesIO(b'{"email": "' + b"a" * 4096 + b'"}')
    response = client.post(
        "/auth/login",
        input_stream=body,
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        # What gunicorn and the development server set for a chunked body.
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


def test_one_access_record_per_request(client: FlaskClient, log_records: Records) -> None:
    client.get("/items")
    client.get("/nowhere")
    client.post("/auth/login", data="{bad", headers={"Content-Type": "application/json"})
    access = [r for r in log_records() if r["logger"].endswith(".access")]
    assert [(r["path"], r["status"]) for r in access] == [
        ("/items", 200),
        ("/nowhere", 404),
        ("/auth/login", 400),
    ]


def test_unicode_digits_are_not_user_ids(app: Flask) -> None:
    for user_id in ("\u00b2", "\u0661", "\uff11"):
        with app.test_request_context():
            assert load_user(user_id) is None


class UnreadableBody(io.RawIOBase):
    """A body the server cannot read to its end (a broken chunk, a client gone half-way)."""

    def readable(self) -> bool:
        return True

    def readinto(self, _buffer: Any) -> int:
        raise OSError("the client went away in the middle of the body")


def test_a_body_that_cannot_be_read_is_a_400(app: Flask, log_records: Records) -> None:
    environ = EnvironBuilder(
        path="/auth/login",
        method="POST",
        content_type="application/json",
        headers=[(HEADER, "unreadable-1")],
    ).get_environ()
    environ["wsgi.input"] = UnreadableBody()
    environ["CONTENT_LENGTH"] = "100"
    body, status, _headers = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("400 ")
    assert json.loads(b"".join(body))["correlation_id"] == "unreadable-1"
    levels = {r["message"]: r["level"] for r in log_records()}
    assert levels["request body unreadable"] == "WARNING"
    assert "ERROR" not in levels.values()
