"""Configuration from the environment, and what production refuses."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from {{ cookiecutter.package_name }}.core.config import ConfigError, from_environ

from .helpers import PASSWORD

STRONG_KEY = "x" * 48


@pytest.mark.parametrize("key", [None, "", "change-me", "dev", "short-but-random-7f3a"])
def test_production_refuses_a_missing_or_weak_secret_key(
    app_factory: Callable[..., Flask], key: str | None
) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        app_factory(APP_ENV="production", SECRET_KEY=key)


def test_production_starts_with_a_strong_key(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(APP_ENV="production", SECRET_KEY=STRONG_KEY)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_development_runs_without_a_key(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(APP_ENV="development", SECRET_KEY="")
    assert len(app.config["SECRET_KEY"]) >= 32


def test_unknown_app_env_is_refused() -> None:
    with pytest.raises(ConfigError, match="APP_ENV"):
        from_environ({"APP_ENV": "prod"}, "/tmp/instance")  # noqa: S108


def test_numbers_must_be_numbers() -> None:
    with pytest.raises(ConfigError, match="MAX_CONTENT_LENGTH"):
        from_environ({"MAX_CONTENT_LENGTH": "1MB"}, "/tmp/instance")  # noqa: S108


def test_environment_values_are_read() -> None:
    config = from_environ({"DATABASE_POOL_SIZE": "12", "LOG_LEVEL": "debug"}, "/srv/instance")
    assert config["DATABASE_POOL_SIZE"] == 12
    assert config["LOG_LEVEL"] == "DEBUG"
    assert config["APP_ENV"] == "production"


def test_a_url_of_another_kind_of_database_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: must be .* URL"):
        from_environ({"DATABASE_URL": "redis://127.0.0.1:6379/0"}, "/srv/instance")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),  # production: gunicorn writes the access line
        ({"APP_ENV": "development"}, True),
        ({"ACCESS_LOG": "on"}, True),
        ({"APP_ENV": "testing", "ACCESS_LOG": "0"}, False),
    ],
)
def test_access_log_setting(environ: dict[str, str], expected: bool) -> None:
    assert from_environ(environ, "/srv/instance")["ACCESS_LOG"] is expected


def test_flags_must_be_flags() -> None:
    with pytest.raises(ConfigError, match="ACCESS_LOG"):
        from_environ({"ACCESS_LOG": "sometimes"}, "/srv/instance")


def test_production_cookies_and_headers(app_factory: Callable[..., Flask], user_email: str) -> None:
    client = app_factory(APP_ENV="production", SECRET_KEY=STRONG_KEY).test_client()
    response = client.post(
        "/auth/login",
        json={"email": user_email, "password": PASSWORD},
        base_url="https://localhost",
    )
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert cookie.startswith("__Host-{{ cookiecutter.package_name }}_session=")
    assert "Path=/" in cookie and "Domain" not in cookie
    assert "max-age" in response.headers["Strict-Transport-Security"]
    token = response.json["csrf_token"]  # type: ignore[index]
    response = client.post(
        "/auth/logout", headers={"X-CSRF-Token": token}, base_url="https://localhost"
    )
    assert response.status_code == 204
    # A browser deletes a __Host- cookie only when the deletion is Secure too.
    (deleted,) = response.headers.getlist("Set-Cookie")
    assert deleted.startswith("__Host-{{ cookiecutter.package_name }}_session=;")
    assert "Secure" in deleted and "Path=/" in deleted and "Expires=Thu, 01 Jan 1970" in deleted
    assert client.application.config["REMEMBER_COOKIE_NAME"].startswith("__Host-")


def test_security_headers_on_every_response(app: Flask) -> None:
    for response in (app.test_client().get("/healthz"), app.test_client().get("/missing")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"


def test_a_view_may_set_a_security_header_itself(app: Flask) -> None:
    @app.get("/cacheable")
    def cacheable() -> tuple[str, int, dict[str, str]]:
        return "public", 200, {"Cache-control": "public, max-age=60"}

    response = app.test_client().get("/cacheable")
    assert response.headers.getlist("Cache-Control") == ["public, max-age=60"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
