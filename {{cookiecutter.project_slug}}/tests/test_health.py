"""Health endpoints: liveness without I/O, readiness naming what failed."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.core.db import get_database

from .helpers import HEADER, count_checkouts


def test_healthz_touches_nothing(app: Flask, client: FlaskClient) -> None:
    with count_checkouts(get_database(app).engine) as checkouts:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert checkouts[0] == 0


def test_healthz_is_answered_before_flask(app_factory: Callable[..., Flask]) -> None:
    """No hook, no session, no view: only the correlation id and the security headers."""
    app = app_factory()
    seen: list[str] = []
    app.before_request(lambda: seen.append("hook"))
    client = app.test_client()
    response = client.get("/healthz", headers={HEADER: "probe-1", "Cookie": "a=b"})
    assert (response.status_code, response.json) == (200, {"status": "ok"})
    assert response.headers[HEADER] == "probe-1"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Length"] == str(len(response.data))
    head = client.head("/healthz")
    assert (head.status_code, head.data) == (200, b"")
    assert seen == []
    # Any other method is Flask's business: the route's 405, through every hook.
    assert client.post("/healthz").status_code == 405
    assert seen == ["hook"]


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
