"""Small helpers shared by the tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, event

PASSWORD = "correct horse battery staple"
# Nothing listens on port 1: connecting there fails at once.
{%- if cookiecutter.database == "postgresql" %}
UNREACHABLE_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:1/down"
{%- elif cookiecutter.database == "mysql" %}
UNREACHABLE_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:1/down"
{%- endif %}
{%- if cookiecutter.session_store == "redis" %}
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"
{%- endif %}


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> str:
    """Log in and return the CSRF token for later unsafe requests."""
    response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.json
    return str(response.json["csrf_token"])  # type: ignore[index]


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
