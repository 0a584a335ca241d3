"""What the tests share: the service's names, data builders, and I/O counters.

A new resource's tests build on these: `create_test_user` and `logged_in_client` for a
caller, `create_item` as the pattern for a builder of the new resource.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, select

from {{ cookiecutter.package_name }}.api_tokens import create_token
from {{ cookiecutter.package_name }}.core.db import get_db
from {{ cookiecutter.package_name }}.core.sessions import session_store
from {{ cookiecutter.package_name }}.models import User
from {{ cookiecutter.package_name }}.users import create_user, normalize_email

PACKAGE = "{{ cookiecutter.package_name }}"
# The header that carries the correlation id in and out, and the ones the tests send with it.
HEADER = "{{ cookiecutter.correlation_header }}"
CSRF_HEADER = "X-CSRF-Token"
SESSION_COOKIE = "{{ cookiecutter.package_name }}_session"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PASSWORD = "correct horse battery staple"


def require(server: str, check: Callable[[], object], how_to_start: str = "") -> None:
    """Run `check`; when it cannot reach the server, fail under CI (where every server must
    be there) and skip, loudly, elsewhere."""
    try:
        check()
    except Exception as error:
        how = how_to_start or "see 'Getting started' in README.md"
        message = f"{server} is not reachable ({type(error).__name__}). Start it: {how}"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def file_mode(path: Path) -> int:
    """A file's permission bits: 0o600 is readable by its owner only."""
    return stat.S_IMODE(path.stat().st_mode)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> str:
    """Log in and return the CSRF token for later unsafe requests."""
    response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.json
    return str(response.json["csrf_token"])  # type: ignore[index]


def create_test_user(app: Flask, email: str | None = None) -> str:
    """A user who can log in with PASSWORD; returns the e-mail."""
    # The app context is for this setup only: requests made inside it would share one `g`.
    with app.app_context():
        return create_user(email or f"user-{uuid.uuid4().hex[:8]}@example.com", PASSWORD).email


def create_api_token(app: Flask, email: str, name: str = "a service") -> str:
    """An API token of the user `email` (a caller that is another service)."""
    with app.app_context():
        user = get_db().scalar(select(User).where(User.email == normalize_email(email)))
        assert user is not None
        return create_token(user, name, None)[0]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def logged_in_client(app: Flask, email: str | None = None) -> tuple[FlaskClient, str]:
    """A client logged in as a new user (or `email`), and its CSRF token."""
    client = app.test_client()
    return client, login(client, email or create_test_user(app))


def create_item(client: FlaskClient, token: str, name: str = "an item") -> dict[str, Any]:
    """An item created through the API by the logged-in client; returns its JSON."""
    response = client.post("/items", json={"name": name}, headers={CSRF_HEADER: token})
    assert response.status_code == 201, response.json
    return dict(response.json)  # type: ignore[arg-type]


@contextmanager
def count_checkouts(engine: Engine) -> Iterator[list[int]]:
    """Counts connections checked out of the pool while the block runs."""
    counter = [0]

    def on_checkout(*_args: Any) -> None:
        counter[0] += 1

    event.listen(engine, "checkout", on_checkout)
    try:
        yield counter
    finally:
        event.remove(engine, "checkout", on_checkout)


@dataclass
class StoreCalls:
    reads: int = 0
    writes: int = 0


STORE_READS = ("get", "has", "exists", "ttl")
STORE_WRITES = ("set", "add", "delete", "expire", "setex", "set_many", "delete_many")


@contextmanager
def count_session_store(app: Flask) -> Iterator[StoreCalls]:
    """Counts reads and writes of the session store while the block runs: the store's own
    methods are wrapped on the one client object the service built."""
    store = session_store(app)
    calls = StoreCalls()

    def counted(name: str, method: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if name in STORE_READS:
                calls.reads += 1
            else:
                calls.writes += 1
            return method(*args, **kwargs)

        return call

    wrapped = [name for name in (*STORE_READS, *STORE_WRITES) if hasattr(store, name)]
    for name in wrapped:
        setattr(store, name, counted(name, getattr(store, name)))
    try:
        yield calls
    finally:
        for name in wrapped:
            delattr(store, name)
