"""Configuration from the environment, and what production refuses."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.core.config import MAY_BE_EMPTY, ConfigError, Settings, from_environ

from .conftest import read_test_settings
from .helpers import PASSWORD

STRONG_KEY = "pD8-v3Kq_0sLr7WnZ2xYb4HcJ6tMfE9u1Ag5Ri-oQkU"


@pytest.mark.parametrize(
    "key",
    [
        None,
        "",
        "change-me",
        "dev",
        "short-but-random-7f3a",
        # compose.yaml's development key, published with every project made from the template
        "compose-development-key-not-for-production-use",
        " " * 32,
        "a" * 32,
        "abab" * 12,
        STRONG_KEY[:20] + " " + STRONG_KEY[20:],
    ],
)
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
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if "_device=" not in c]
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


def test_debug_mode_is_refused_in_production(
    app_factory: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")  # Flask reads it when the app is made
    with pytest.raises(ConfigError, match=r"^FLASK_DEBUG is on in production"):
        app_factory(APP_ENV="production", SECRET_KEY=STRONG_KEY)
    assert app_factory(APP_ENV="development").debug is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRUSTED_PROXY_HOPS", "-1"),
        ("TRUSTED_PROXY_HOPS", "11"),
        ("SESSION_LIFETIME_SECONDS", "-5"),
        ("SESSION_LIFETIME_SECONDS", "0"),
        ("MAX_CONTENT_LENGTH", "-1"),
        ("IDEMPOTENCY_KEY_RETENTION_SECONDS", "0"),
        ("DATABASE_POOL_SIZE", "0"),
        ("LOGIN_RATE_LIMIT_PER_CLIENT", "0/minute"),
        ("LOGIN_RATE_LIMIT_PER_ACCOUNT", "often"),
    ],
)
def test_out_of_range_values_are_one_line_naming_the_setting(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: ") as raised:
        from_environ({name: value}, "/srv/instance")
    assert "\n" not in raised.value.message


@pytest.mark.parametrize(
    "name", sorted(name for name in Settings.model_fields if name not in MAY_BE_EMPTY)
)
def test_an_empty_setting_is_refused_not_defaulted(name: str) -> None:
    """`DATABASE_URL=` used to fall back to the default database, and create it."""
    with pytest.raises(ConfigError, match=f"^{name} is empty: remove it to use the default"):
        from_environ({name: " "}, "/srv/instance")


@pytest.fixture
def project_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder to start the service in, with a production environment and nothing else."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        # Set, then removed: monkeypatch restores each to what it was before the test, also
        # those the test's `.env` adds to the environment.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path


def test_a_development_file_stops_a_production_start(project_folder: Path) -> None:
    """`make run` writes a `.env` saying APP_ENV=development; gunicorn started in the same
    folder used to load it and serve without Secure cookies, HSTS, or a word in the log."""
    (project_folder / ".env").write_text("APP_ENV=development\nSECRET_KEY=from-the-file\n")
    with pytest.raises(ConfigError, match=r"\.env is a development file .* remove it") as raised:
        create_app()
    assert "\n" not in raised.value.message


def test_every_start_says_where_its_settings_came_from(
    app_factory: Callable[..., Flask], log_records: Callable[[], list[dict[str, Any]]]
) -> None:
    app_factory(APP_ENV="production", SECRET_KEY=STRONG_KEY)
    (line,) = [line for line in log_records() if line["message"] == "service configured"]
    assert line["app_env"] == "production"
    assert (line["secure_cookies"], line["hsts"], line["api_docs"], line["debug"]) == (
        True,
        True,
        False,
        False,
    )
    assert {"APP_ENV", "SECRET_KEY", "DATABASE_URL"} <= set(line["settings_from"]["code"])


def test_the_start_line_names_the_environment_and_the_file(
    project_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    log_records: Callable[[], list[dict[str, Any]]],
) -> None:
    monkeypatch.setenv("APP_ENV", "development")
    # As the flask CLI does: it loads .env into the environment before making the app.
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "2048")
    (project_folder / ".env").write_text(
        "APP_ENV=production\nSESSION_LIFETIME_SECONDS=600\nMAX_CONTENT_LENGTH=2048\n"
    )
    create_app()
    (line,) = [line for line in log_records() if line["message"] == "service configured"]
    assert line["app_env"] == "development"  # the environment wins over the file
    sources = line["settings_from"]
    assert {"APP_ENV", "SECRET_KEY"} <= set(sources["environment"])
    assert sources[str(project_folder / ".env")] == [
        "MAX_CONTENT_LENGTH",
        "SESSION_LIFETIME_SECONDS",
    ]
    assert line["api_docs"] is True and line["secure_cookies"] is False


def test_the_tests_read_their_servers_from_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README says to put TEST_* in `.env`: a TEST_REDIS_URL there used to be ignored."""
    monkeypatch.delenv("TEST_FROM_FILE", raising=False)
    monkeypatch.setenv("TEST_FROM_BOTH", "environment")
    (tmp_path / ".env").write_text(
        "TEST_FROM_FILE=file\nTEST_FROM_BOTH=file\nDATABASE_URL=sqlite:////nowhere\n"
    )
    read_test_settings(tmp_path / ".env")
    assert os.environ["TEST_FROM_FILE"] == "file"
    assert os.environ["TEST_FROM_BOTH"] == "environment"
    assert os.environ.get("DATABASE_URL") != "sqlite:////nowhere"
    monkeypatch.delenv("TEST_FROM_FILE")
