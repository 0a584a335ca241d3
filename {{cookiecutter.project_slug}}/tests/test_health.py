"""Health endpoints: liveness without I/O, readiness naming what failed."""

from __future__ import annotations

from collections.abc import Callable{% if cookiecutter.database != "sqlite" %}, Iterator{% endif %}
{%- if cookiecutter.session_store == "redis" %}
from typing import Any
from urllib.parse import urlsplit
{%- endif %}
{%- if cookiecutter.session_store == "filesystem" %}
from pathlib import Path
{%- endif %}
{% if cookiecutter.database != "sqlite" %}
import pytest
{%- endif %}
from flask import Flask
from flask.testing import FlaskClient
{%- if cookiecutter.database != "sqlite" %}
from sqlalchemy.engine import make_url
{%- endif %}
{% if cookiecutter.database != "sqlite" %}
from {{ cookiecutter.package_name }}.core import db
{%- endif %}
from {{ cookiecutter.package_name }}.core.db import get_database

from .helpers import (
{%- if cookiecutter.session_store == "redis" %}
    HEADER,
{%- endif %}
    PASSWORD,
{%- if cookiecutter.session_store == "redis" %}
    SESSION_COOKIE,
    UNREACHABLE_REDIS_URL,
{%- endif %}
{%- if cookiecutter.database != "sqlite" or cookiecutter.session_store == "redis" %}
    TcpProxy,
{%- endif %}
    count_checkouts,
{%- if cookiecutter.session_store == "redis" %}
    login,
{%- endif %}
)


def test_healthz_touches_nothing(app: Flask, client: FlaskClient) -> None:
    with count_checkouts(get_database(app).engine) as checkouts:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert checkouts[0] == 0


def test_readyz_when_everything_answers(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ready",
        "checks": {"database": "ok", "session_store": "ok"},
    }


def test_readyz_names_the_database_when_it_is_down(
    app_factory: Callable[..., Flask], unreachable_database_url: str
) -> None:
    client = app_factory(DATABASE_URL=unreachable_database_url).test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["checks"] == {"database": "failed", "session_store": "ok"}


def test_endpoints_needing_the_database_answer_503(
    app_factory: Callable[..., Flask], unreachable_database_url: str
) -> None:
    client = app_factory(DATABASE_URL=unreachable_database_url).test_client()
    response = client.get("/items")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["error"] == "service_unavailable"
    assert "database" in response.json["message"]
{%- if cookiecutter.session_store == "redis" %}


def test_readyz_names_the_session_store_when_it_is_down(
    app_factory: Callable[..., Flask],
) -> None:
    client = app_factory(REDIS_URL=UNREACHABLE_REDIS_URL).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["checks"] == {"database": "ok", "session_store": "failed"}


def test_a_redis_outage_is_503_for_session_requests_only(
    app_factory: Callable[..., Flask], log_records: Callable[[], list[dict[str, Any]]]
) -> None:
    app = app_factory(REDIS_URL=UNREACHABLE_REDIS_URL, PROPAGATE_EXCEPTIONS=False)
    client = app.test_client()
    assert client.get("/items").status_code == 200  # no cookie: the session is never read
    client.set_cookie(SESSION_COOKIE, "some-session-id")
    response = client.get("/items", headers={HEADER: "redis-down"})
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["message"] == "The session store is unavailable."
    assert response.headers[HEADER] == "redis-down"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Liveness never depends on the session store, cookie or not.
    assert client.get("/healthz").status_code == 200
    # One error line for the outage, and no second one from finishing the response.
    errors = [r["message"] for r in log_records() if r["level"] == "ERROR"]
    assert not any("finalizing" in message for message in errors), errors


def test_a_session_that_cannot_be_written_is_503_not_a_silent_logout(
    app_factory: Callable[..., Flask],
    user_email: str,
    log_records: Callable[[], list[dict[str, Any]]],
) -> None:
    app = app_factory(REDIS_URL=UNREACHABLE_REDIS_URL, PROPAGATE_EXCEPTIONS=False)
    response = app.test_client().post(
        "/auth/login", json={"email": user_email, "password": PASSWORD}
    )
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["message"] == "The session store is unavailable."
    assert "Set-Cookie" not in response.headers
    errors = [r["message"] for r in log_records() if r["level"] == "ERROR"]
    assert not any("finalizing" in message for message in errors), errors
{%- else %}


def test_readyz_names_the_session_store_when_it_is_down(
    app_factory: Callable[..., Flask], tmp_path: Path
) -> None:
    sessions = tmp_path / "lost-sessions"
    app = app_factory(SESSION_DIR=str(sessions))
    sessions.rmdir()
    sessions.write_text("the store is gone")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["checks"] == {"database": "ok", "session_store": "failed"}


def test_a_session_that_cannot_be_written_is_503_not_a_silent_logout(
    app_factory: Callable[..., Flask], tmp_path: Path, user_email: str
) -> None:
    sessions = tmp_path / "lost-sessions"
    app = app_factory(SESSION_DIR=str(sessions), PROPAGATE_EXCEPTIONS=False)
    sessions.rmdir()
    sessions.write_text("the store is gone")
    response = app.test_client().post(
        "/auth/login", json={"email": user_email, "password": PASSWORD}
    )
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["message"] == "The session store is unavailable."
{%- endif %}
{%- if cookiecutter.database != "sqlite" %}


@pytest.fixture
def proxied_database(
    app_factory: Callable[..., Flask], database_url: str
) -> Iterator[tuple[TcpProxy, FlaskClient]]:
    """A client of an app that reaches its database through a proxy the test can take down."""
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or {{ 5432 if cookiecutter.database == "postgresql" else 3306 }})
    proxy.start()
    try:
        through_proxy = url.set(host="127.0.0.1", port=proxy.port)
        app = app_factory(DATABASE_URL=through_proxy.render_as_string(hide_password=False))
        yield proxy, app.test_client()
    finally:
        proxy.stop()


def test_the_database_comes_back_without_a_restart(
    proxied_database: tuple[TcpProxy, FlaskClient],
) -> None:
    proxy, client = proxied_database
    assert client.get("/items").status_code == 200
    proxy.stop()
    assert client.get("/items").status_code == 503
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200
    proxy.start()  # the same process, no restart
    assert client.get("/items").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_a_connection_dropped_while_idle_is_replaced_unseen(
    proxied_database: tuple[TcpProxy, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, client = proxied_database
    assert client.get("/items").status_code == 200
    # What a firewall or a load balancer's idle timeout does to a pooled connection, while
    # the database itself stays up.
    proxy.stop()
    proxy.start()
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # as if it had sat idle for long
    assert client.get("/items").status_code == 200  # not a 503: pinged and replaced
{%- endif %}
{%- if cookiecutter.session_store == "redis" %}


def test_redis_comes_back_without_a_restart(
    app_factory: Callable[..., Flask], redis_url: str, user_email: str
) -> None:
    parsed = urlsplit(redis_url)
    proxy = TcpProxy(parsed.hostname or "127.0.0.1", parsed.port or 6379)
    proxy.start()
    try:
        through_proxy = parsed._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()
        app = app_factory(REDIS_URL=through_proxy, PROPAGATE_EXCEPTIONS=False)
        client = app.test_client()
        login(client, user_email)
        assert client.get("/auth/me").status_code == 200
        proxy.stop()
        assert client.get("/auth/me").status_code == 503
        assert client.get("/items", headers={"Cookie": ""}).status_code in {200, 503}
        proxy.start()
        assert client.get("/auth/me").status_code == 200  # the session itself survived
    finally:
        proxy.stop()
{%- endif %}
