"""API tokens: the callers that are other services. A token request is authenticated by its
token alone (flask-login's request loader), needs no CSRF token, never opens a session and
gets no cookie; a dead token is refused from the next request on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from {{ cookiecutter.package_name }}.core.db import get_db
from {{ cookiecutter.package_name }}.core.tokens import PREFIX, token_digest
from {{ cookiecutter.package_name }}.models import ApiToken

from .helpers import (
    CSRF_HEADER,
    HEADER,
    PACKAGE,
    SESSION_COOKIE,
    bearer,
    count_session_store,
    create_api_token,
    create_test_user,
    login,
)

Records = Callable[[], list[dict[str, Any]]]


def test_a_token_authenticates_like_a_session(
    app: Flask, client: FlaskClient, user_email: str
) -> None:
    token = create_api_token(app, user_email, "billing")
    me = client.get("/auth/me", headers=bearer(token))
    assert me.status_code == 200 and me.json["user"]["email"] == user_email  # type: ignore[index]
    # A write needs no CSRF token: no browser can be made to send the header.
    created = client.post("/items", json={"name": "by token"}, headers=bearer(token))
    assert created.status_code == 201, created.json
    assert created.json["created_by"] == me.json["user"]["id"]  # type: ignore[index]


def test_a_token_request_never_touches_a_session_and_gets_no_cookie(
    app: Flask, client: FlaskClient, user_email: str
) -> None:
    token = create_api_token(app, user_email)
    login(client, create_test_user(app))  # a session of someone else, cookie in the jar
    with count_session_store(app) as calls:
        response = client.post("/items", json={"name": "x"}, headers=bearer(token))
        me = client.get("/auth/me", headers=bearer(token))
    assert response.status_code == 201, response.json
    assert me.json["user"]["email"] == user_email  # type: ignore[index]  # the token's user
    assert (calls.reads, calls.writes) == (0, 0)
    assert "Set-Cookie" not in response.headers and "Set-Cookie" not in me.headers
    # The session is still there for the browser that owns it.
    assert client.get("/auth/me").status_code == 200


def test_log_lines_say_how_the_caller_authenticated(
    app: Flask, client: FlaskClient, user_email: str, log_records: Records
) -> None:
    token = create_api_token(app, user_email, "nightly-export")
    client.get("/auth/me", headers={**bearer(token), HEADER: "token-call"})
    csrf_token = login(client, user_email)
    client.post("/items", json={"name": "x"}, headers={CSRF_HEADER: csrf_token, HEADER: "s-call"})
    access = {r["correlation_id"]: r for r in log_records() if r["logger"].endswith(".access")}
    assert access["token-call"]["auth"] == "token"
    assert access["token-call"]["token_name"] == "nightly-export"
    assert access["s-call"]["auth"] == "session" and access["s-call"]["token_name"] is None
    assert all(token not in str(record) for record in log_records())


@pytest.mark.parametrize(
    "authorization",
    ["Bearer ", "Bearer not-a-token", f"Bearer {PREFIX}unknown", "bearer a b", "Bearer \u00e9"],
)
def test_a_bad_token_is_a_401_even_where_no_login_is_needed(
    client: FlaskClient, authorization: str
) -> None:
    response = client.get("/items", headers={"Authorization": authorization})
    assert response.status_code == 401 and response.json["error"] == "unauthorized"  # type: ignore[index]
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_other_authorization_schemes_are_not_tokens(client: FlaskClient) -> None:
    assert client.get("/items", headers={"Authorization": "Basic dXNlcjpwdw=="}).status_code == 200


def test_revoked_and_expired_tokens_are_refused_from_the_next_request(
    app: Flask, client: FlaskClient, user_email: str
) -> None:
    runner = app.test_cli_runner()
    token = create_api_token(app, user_email, "short-lived")
    assert client.get("/auth/me", headers=bearer(token)).status_code == 200
    with app.app_context():
        get_db().execute(
            update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        get_db().commit()
    assert client.get("/auth/me", headers=bearer(token)).status_code == 401
    revoked = create_api_token(app, user_email, "revoked")
    assert client.get("/auth/me", headers=bearer(revoked)).status_code == 200
    result = runner.invoke(args=["revoke-token", user_email, "--name", "revoked"])
    assert result.exit_code == 0, result.output
    assert client.get("/auth/me", headers=bearer(revoked)).status_code == 401


def test_token_requests_cannot_log_in_or_out(
    app: Flask, client: FlaskClient, user_email: str
) -> None:
    token = create_api_token(app, user_email)
    body = {"email": user_email, "password": "whatever"}
    assert client.post("/auth/login", json=body, headers=bearer(token)).status_code == 403
    assert client.post("/auth/logout", headers=bearer(token)).status_code == 403
    assert client.get_cookie(SESSION_COOKIE) is None


def test_the_commands(app: Flask, user_email: str) -> None:
    runner = app.test_cli_runner()
    args = ["create-token", user_email, "--name", "ci", "--expires-in", "12h"]
    created = runner.invoke(args=args)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith(PREFIX) and len(token) == len(PREFIX) + 43
    with app.app_context():
        record = get_db().scalar(select(ApiToken).where(ApiToken.name == "ci"))
        assert record is not None and record.token_hash == token_digest(token)
        stored = " ".join(str(value) for value in vars(record).values())
        assert token not in stored  # only the hash is kept
    listed = runner.invoke(args=["list-tokens", user_email])
    assert "\tci\texpires " in listed.output and token not in listed.output
    again = runner.invoke(args=["create-token", user_email, "--name", "ci"])
    assert again.exit_code == 1 and "already has a token named 'ci'" in again.output
    for bad in (["--expires-in", "soon"], ["--expires-in", "0d"], ["--name", "\x00"]):
        args = ["create-token", user_email, "--name", "x", *bad]
        result = runner.invoke(args=args)
        assert result.exit_code == 2, (bad, result.output)
    unknown = runner.invoke(args=["create-token", "nobody@example.com", "--name", "x"])
    assert unknown.exit_code == 1 and "no user" in unknown.output
    gone = runner.invoke(args=["revoke-token", user_email, "--name", "absent"])
    assert gone.exit_code == 1


def test_a_commands_output_is_only_its_output(base_config: dict[str, str], user_email: str) -> None:
    """`TOKEN=$(flask create-token ...)` must capture the token alone: the command's log
    lines (its start line among them) go to stderr."""
    command = ["create-token", user_email, "--name", "sh"]
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", PACKAGE, *command],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, **base_config},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(re.escape(PREFIX) + r"[A-Za-z0-9_-]{43}\n", result.stdout)
    assert '"message": "service configured"' in result.stderr


def test_owners_manage_their_tokens_through_the_api(app: Flask, user_email: str) -> None:
    client = app.test_client()
    csrf_token = login(client, user_email)
    headers = {CSRF_HEADER: csrf_token}
    created = client.post("/auth/tokens", json={"name": "deploy"}, headers=headers)
    assert created.status_code == 201, created.json
    token = created.json["token"]  # type: ignore[index]
    expires = datetime.fromisoformat(created.json["expires_at"])  # type: ignore[index]
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    duplicate = client.post("/auth/tokens", json={"name": "deploy"}, headers=headers)
    assert duplicate.status_code == 409
    forever = client.post(
        "/auth/tokens", json={"name": "forever", "expires_in": "never"}, headers=headers
    )
    assert forever.json["expires_at"] is None  # type: ignore[index]
    listing = client.get("/auth/tokens").json["tokens"]  # type: ignore[index]
    assert [t["name"] for t in listing] == ["deploy", "forever"]
    assert all("token" not in t for t in listing)
    # Another user sees none of them and cannot revoke them.
    other = app.test_client()
    other_csrf = login(other, create_test_user(app))
    assert other.get("/auth/tokens").json["tokens"] == []  # type: ignore[index]
    token_id = listing[0]["id"]
    refused = other.delete(f"/auth/tokens/{token_id}", headers={CSRF_HEADER: other_csrf})
    assert refused.status_code == 404
    # Revoked, it is dead from the next request on.
    assert client.get("/auth/me", headers=bearer(token)).status_code == 200
    assert client.delete(f"/auth/tokens/{token_id}", headers=headers).status_code == 204
    assert client.get("/auth/me", headers=bearer(token)).status_code == 401


def test_a_user_holds_a_bounded_number_of_tokens(
    app_factory: Callable[..., Flask], user_email: str
) -> None:
    app = app_factory(MAX_API_TOKENS_PER_USER=2)
    client = app.test_client()
    headers = {CSRF_HEADER: login(client, user_email)}
    for name in ("one", "two"):
        assert client.post("/auth/tokens", json={"name": name}, headers=headers).status_code == 201
    refused = client.post("/auth/tokens", json={"name": "three"}, headers=headers)
    assert refused.status_code == 409
    assert refused.json is not None and "revoke one first" in refused.json["message"]
    result = app.test_cli_runner().invoke(args=["create-token", user_email, "--name", "four"])
    assert result.exit_code == 1 and "MAX_API_TOKENS_PER_USER" in result.output
    token_id = client.get("/auth/tokens").json["tokens"][0]["id"]  # type: ignore[index]
    assert client.delete(f"/auth/tokens/{token_id}", headers=headers).status_code == 204
    assert client.post("/auth/tokens", json={"name": "three"}, headers=headers).status_code == 201


def test_each_caller_has_a_write_limit(
    app_factory: Callable[..., Flask], user_email: str, log_records: Records
) -> None:
    """One token wrote 2,252 items in 10 s; reads are never counted."""
    app = app_factory(WRITE_RATE_LIMIT_PER_CALLER="3/minute")
    token = create_api_token(app, user_email)
    client = app.test_client()
    codes = [
        client.post("/items", json={"name": f"n{n}"}, headers=bearer(token)).status_code
        for n in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    refused = client.post("/items", json={"name": "n"}, headers=bearer(token))
    assert refused.json is not None and refused.json["error"] == "too_many_requests"
    assert int(refused.headers["Retry-After"]) >= 1
    assert client.get("/items", headers=bearer(token)).status_code == 200
    # The same user's session is another caller, with a limit of its own.
    session = app.test_client()
    csrf = login(session, user_email)
    created = session.post("/items", json={"name": "s"}, headers={CSRF_HEADER: csrf})
    assert created.status_code == 201
    assert [r["event"] for r in log_records() if r.get("event") == "writes_refused"] == [
        "writes_refused",
        "writes_refused",
    ]


def test_a_token_can_neither_make_nor_revoke_tokens(
    app: Flask, client: FlaskClient, user_email: str
) -> None:
    """A leaked token must not outlive its revocation by minting another."""
    token = create_api_token(app, user_email, "leaked")
    made = client.post("/auth/tokens", json={"name": "spare"}, headers=bearer(token))
    assert made.status_code == 403
    with app.app_context():
        (token_id,) = get_db().scalars(select(ApiToken.id))
    assert client.delete(f"/auth/tokens/{token_id}", headers=bearer(token)).status_code == 403
    assert client.get("/auth/tokens", headers=bearer(token)).status_code == 200


def test_a_remember_cookie_beside_a_token_is_refused_as_everywhere(
    app: Flask, client: FlaskClient, user_email: str
) -> None:
    token = create_api_token(app, user_email)
    client.set_cookie(app.config["REMEMBER_COOKIE_NAME"], "caf\u00e9|forged")
    response = client.get("/auth/me", headers=bearer(token))
    assert response.status_code == 400, response.json
