"""I/O per request, counted: a request does only the I/O it needs.

A probe touches neither the database nor the session store, whatever the client sends; an
anonymous read checks out one connection and never reads the store; a logged-in read costs
one store read and no write.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.core.db import get_database

from .helpers import HEADER, count_checkouts, count_session_store, create_item


def io_of(app: Flask, client: FlaskClient, path: str) -> tuple[int, int, int]:
    """(connections checked out, session-store reads, session-store writes) of one GET."""
    with count_checkouts(get_database(app).engine) as checkouts, count_session_store(app) as calls:
        response = client.get(path, headers={HEADER: "io-count"})
    assert response.status_code == 200, response.json
    return checkouts[0], calls.reads, calls.writes


def test_a_probe_does_no_io(app: Flask, client: FlaskClient) -> None:
    assert io_of(app, client, "/healthz") == (0, 0, 0)


def test_a_probe_with_a_session_cookie_does_no_io(
    app: Flask, client: FlaskClient, logged_in: str
) -> None:
    assert io_of(app, client, "/healthz") == (0, 0, 0)


def test_an_anonymous_read_uses_one_connection_and_no_session(
    app: Flask, client: FlaskClient, logged_in: str
) -> None:
    item_id = create_item(client, logged_in)["id"]
    anonymous = app.test_client()
    assert io_of(app, anonymous, f"/items/{item_id}") == (1, 0, 0)


def test_a_logged_in_read_is_one_session_read_and_no_write(
    app: Flask, client: FlaskClient, logged_in: str
) -> None:
    item_id = create_item(client, logged_in)["id"]
    assert io_of(app, client, f"/items/{item_id}") == (1, 1, 0)
    # Loading the user is one more query on the same connection.
    assert io_of(app, client, "/auth/me") == (1, 1, 0)


def test_responses_that_may_depend_on_the_session_vary_on_cookie(
    app: Flask, client: FlaskClient, logged_in: str
) -> None:
    # flask-login reads the session after every request (for its remember-me cookie), so
    # every response but a probe's says it may depend on the cookie; none may be stored by
    # a cache anyway (Cache-Control: no-store).
    assert client.get("/auth/me").headers["Vary"] == "Cookie"
    assert client.get("/items").headers["Vary"] == "Cookie"
    assert client.get("/items").headers["Cache-Control"] == "no-store"
    assert "Vary" not in client.get("/healthz").headers


def test_refreshing_each_request_rewrites_an_unchanged_session(
    app: Flask, client: FlaskClient, logged_in: str
) -> None:
    # core/sessions.py turns SESSION_REFRESH_EACH_REQUEST off, and skips the store for a
    # session a request did not change; a team that turns it back on (a lifetime counted from
    # the last request) gets every logged-in request's session written and its cookie resent.
    app.config["SESSION_REFRESH_EACH_REQUEST"] = True
    with count_session_store(app) as calls:
        response = client.get("/auth/me", headers={HEADER: "io-count"})
    assert response.status_code == 200, response.json
    assert (calls.reads, calls.writes) == (1, 1)
    assert response.headers["Set-Cookie"].startswith(f"{app.config['SESSION_COOKIE_NAME']}=")
