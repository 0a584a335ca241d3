"""Login, logout, sessions and passwords."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import select

from {{ cookiecutter.package_name }}.auth import load_user
from {{ cookiecutter.package_name }}.core.credentials import add_check
from {{ cookiecutter.package_name }}.core.db import get_db
from {{ cookiecutter.package_name }}.core.passwords import hashing_slots
from {{ cookiecutter.package_name }}.models import User
from {{ cookiecutter.package_name }}.users import create_user

from .helpers import PASSWORD, SESSION_COOKIE, login


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(SESSION_COOKIE)
    return cookie.value if cookie else None


def without_correlation_id(body: Any) -> Any:
    return {key: value for key, value in body.items() if key != "correlation_id"}


def test_login_returns_the_user_and_a_csrf_token(client: FlaskClient, user_email: str) -> None:
    response = client.post("/auth/login", json={"email": user_email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json
    assert body is not None
    assert body["user"]["email"] == user_email
    assert set(body["user"]) == {"id", "email", "created_at"}  # never the hash
    assert body["csrf_token"]


def test_email_is_case_insensitive(client: FlaskClient, user_email: str) -> None:
    login(client, user_email.upper())


def test_me_requires_login(client: FlaskClient) -> None:
    response = client.get("/auth/me")
    assert response.status_code == 401
    assert response.json is not None and response.json["error"] == "unauthorized"


def test_me_after_login(client: FlaskClient, user_email: str) -> None:
    login(client, user_email)
    body = client.get("/auth/me").json
    assert body is not None and body["user"]["email"] == user_email


def test_unknown_email_and_wrong_password_look_the_same(
    client: FlaskClient, user_email: str
) -> None:
    wrong_password = client.post("/auth/login", json={"email": user_email, "password": "nope"})
    unknown = client.post("/auth/login", json={"email": "ghost@example.com", "password": "nope"})
    assert wrong_password.status_code == unknown.status_code == 401
    assert without_correlation_id(wrong_password.json) == without_correlation_id(unknown.json)
    assert session_cookie(client) is None


def test_password_is_hashed_with_argon2id(app: Flask, user_email: str) -> None:
    with app.app_context():
        user = get_db().scalar(select(User).where(User.email == user_email))
        assert user is not None
        # OWASP's recommended minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
        assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("1234567", "at least 8"),
        ("12345678", "most common"),
        ("Password1", "most common"),
        ("        ", "1 to 1024"),
        ("pass\x01word-long", "control characters"),
        ("x" * 1025, "1 to 1024"),
    ],
)
def test_create_user_refuses_passwords_login_would_refuse_or_guess(
    app: Flask, password: str, reason: str
) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "new@example.com", "--password", password])
    assert result.exit_code == 2
    assert reason in result.output


def test_password_hashing_is_capped_per_worker(
    app_factory: Callable[..., Flask], user_email: str
) -> None:
    app = app_factory(PASSWORD_HASH_CONCURRENCY=1)
    client = app.test_client()
    slots = hashing_slots(app)
    assert slots.acquire(timeout=1)  # another login is hashing
    try:
        response = client.post("/auth/login", json={"email": user_email, "password": PASSWORD})
    finally:
        slots.release()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json is not None and response.json["error"] == "busy"
    login(client, user_email)


def test_session_id_changes_at_login(client: FlaskClient, user_email: str) -> None:
    client.set_cookie(SESSION_COOKIE, "planted-by-an-attacker")
    login(client, user_email)
    first = session_cookie(client)
    assert first not in (None, "planted-by-an-attacker")
    login(client, user_email)
    assert session_cookie(client) != first


def test_a_planted_session_id_is_useless_after_login(
    app: Flask, client: FlaskClient, user_email: str
) -> None:
    attacker = app.test_client()
    attacker.get("/healthz")
    client.set_cookie(SESSION_COOKIE, "planted-by-an-attacker")
    login(client, user_email)
    attacker.set_cookie(SESSION_COOKIE, "planted-by-an-attacker")
    assert attacker.get("/auth/me").status_code == 401


def test_logout_invalidates_the_server_side_session(
    app: Flask, client: FlaskClient, user_email: str
) -> None:
    token = login(client, user_email)
    stolen = session_cookie(client)
    assert stolen is not None
    response = client.post("/auth/logout", headers={"X-CSRF-Token": token})
    assert response.status_code == 204
    assert client.get("/auth/me").status_code == 401
    replay = app.test_client()
    replay.set_cookie(SESSION_COOKIE, stolen)
    assert replay.get("/auth/me").status_code == 401


def test_logout_needs_the_csrf_token_when_logged_in(client: FlaskClient, user_email: str) -> None:
    login(client, user_email)
    assert client.post("/auth/logout").status_code == 403
    assert client.get("/auth/me").status_code == 200


def test_flask_wtf_settings_keep_their_meaning(
    app_factory: Callable[..., Flask], user_email: str
) -> None:
    """WTF_CSRF_ENABLED switches the check off, as Flask-WTF documents (tests of a team's own
    views may want that); the default app checks."""
    client = app_factory(WTF_CSRF_ENABLED=False).test_client()
    login(client, user_email)
    assert client.post("/auth/logout").status_code == 204
    client = app_factory().test_client()
    login(client, user_email)
    assert client.post("/auth/logout").status_code == 403


@pytest.mark.parametrize("user_id", ["abc", "-1", "0", "999999", "99999999999999999999", "1.5", ""])
def test_malformed_or_unknown_user_ids_are_anonymous(app: Flask, user_id: str) -> None:
    # flask-login hands its loader whatever id its session key holds: never an exception.
    with app.test_request_context():
        assert load_user(user_id) is None


def test_cookie_flags(client: FlaskClient, user_email: str) -> None:
    response = client.post("/auth/login", json={"email": user_email, "password": PASSWORD})
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if "_device=" not in c]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # testing mode; production is checked in test_config


def test_create_user_command(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "cli@example.com", "--password", "pw-123456"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["create-user", "cli@example.com", "--password", "pw-123456"])
    assert again.exit_code != 0
    assert "already exists" in again.output
    prompted = runner.invoke(
        args=["create-user", "ask@example.com"], input="pw-123456\npw-123456\n"
    )
    assert prompted.exit_code == 0, prompted.output
    bad_email = ["create-user", "not-an-email", "--password", "pw-123456"]
    assert runner.invoke(args=bad_email).exit_code == 2


def test_old_hashes_are_upgraded_at_login(app: Flask, client: FlaskClient) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with app.app_context():
        user = create_user("weak@example.com", PASSWORD)
        user.password_hash = weak
        get_db().commit()
    login(client, "weak@example.com")
    with app.app_context():
        stored = get_db().scalar(select(User).where(User.email == "weak@example.com"))
        assert stored is not None and stored.password_hash != weak


def test_credential_checks_run_only_for_requests_that_present_some(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory()
    seen: list[str] = []
    add_check(app, lambda: seen.append(request.headers.get("X-Probe", "")))
    client = app.test_client()
    assert client.get("/items", headers={"X-Probe": "nothing"}).status_code == 200
    basic = {"X-Probe": "basic", "Authorization": "Basic eA=="}
    assert client.get("/items", headers=basic).status_code == 200
    client.set_cookie("other", "1")
    assert client.get("/items", headers={"X-Probe": "cookie"}).status_code == 200
    assert seen == ["basic", "cookie"]
