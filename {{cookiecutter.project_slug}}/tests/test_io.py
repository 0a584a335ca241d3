"""I/O per request, counted: a request does only the I/O it needs.

A probe touches neither the database nor the session store, whatever the client sends; an
anonymous read checks out one connection and never reads the store; a logged-in read costs
one store read and no write.
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.db import get_database

from .helpers import count_checkouts, count_session_store

HEADER = "{{ cookiecutter.correlation_header }}"


def io_of(app: Flask, client: FlaskClient, path: str) -> tuple[int, int, int]:
    """(connections checked out, session-store reads, session-store writes) of one GET."""
    with count_checkouts(get_database(app).engine) as checkouts, count_session_store(app) as calls:
        response = client.get(path, headers={HEADER: "io-count"})
    assert response.status_code == 200, response.json
    return checkouts[0], calls.reads, calls.writes


def create_item(client: FlaskClient, token: str) -> int:
    response = client.post("/items", json={"name": "counted"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 201
    return int(response.json["id"])  # type: ignore[index]


def test_a_probe_does_no_io(app: Flask, client: FlaskClient) -> None:
    assert io_of(app, client, "/healthz") == (0, 0, 0)


def test_a_probe_with_a_session_cookie_does_no_io(
    app: Flask, client: FlaskClient, logged_in: str
) -> None:
    assert io_of(app, client, "/healthz") == (0, 0, 0)


def test_an_anonymous_read_uses_one_connection_and_no_session(
    app: Flask, client: FlaskClient, logged_in: str
) -> None:
    item_id = create_item(client, logged_in)
    anonymous = app.test_client()
    assert io_of(app, anonymous, f"/items/{item_id}") == (1, 0, 0)


def test_a_logged_in_read_is_one_session_read_and_no_write(
    app: Flask, client: FlaskClient, logged_in: str
) -> None:
    item_id = create_item(client, logged_in)
    assert io_of(app, client, f"/items/{item_id}") == (1, 1, 0)
    # Loading the user is one more query on the same connection.
    assert io_of(app, client, "/auth/me") == (1, 1, 0)


def test_only_responses_that_read_the_session_vary_on_cookie(
    app: Flask, client: FlaskClient, logged_in: str
) -> None:
    # Caches may share what does not depend on the cookie; reading the session for a log
    # line or the CSRF check does not make a response depend on it.
    assert "Vary" not in app.test_client().get("/items").headers
    assert "Vary" not in client.get("/items").headers
    assert client.get("/auth/me").headers["Vary"] == "Cookie"
