"""Configuration: every setting comes from the environment (or a `.env` file).

`from_environ` is a pure function of a mapping, so it is trivial to test; `init_app` applies
it, lets a test override anything, and refuses to start a production service with a secret
key that anyone could guess.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask

ENVIRONMENTS = ("production", "development", "testing")
# Values copied from examples and tutorials: a production key must be none of them.
WEAK_SECRET_KEYS = frozenset(
    {"change-me", "changeme", "secret", "dev", "development", "test", "testing", "please-change"}
)
MIN_SECRET_KEY_LENGTH = 32

log = logging.getLogger(__name__)


class ConfigError(RuntimeError):
    """The environment does not describe a service that may start."""


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _urls(environ: Mapping[str, str], name: str) -> list[str]:
    urls = environ.get(name, "").replace(",", " ").split()
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{name} must list http:// or https:// URLs, not {url!r}")
    return urls


def from_environ(environ: Mapping[str, str], instance_path: str) -> dict[str, Any]:
    """Translate environment variables into Flask config keys."""
    app_env = environ.get("APP_ENV", "production")
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {app_env!r}")
    production = app_env == "production"
{%- if cookiecutter.database == "sqlite" %}
    default_database = "sqlite:///" + str(Path(instance_path) / "{{ cookiecutter.package_name }}.sqlite3")
{%- elif cookiecutter.database == "postgresql" %}
    default_database = "postgresql+psycopg://postgres@127.0.0.1:5432/{{ cookiecutter.package_name }}"
{%- elif cookiecutter.database == "mysql" %}
    default_database = "mysql+pymysql://root@127.0.0.1:3306/{{ cookiecutter.package_name }}"
{%- endif %}
    return {
        "APP_ENV": app_env,
        "SECRET_KEY": environ.get("SECRET_KEY", ""),
        "DATABASE_URL": environ.get("DATABASE_URL") or default_database,
        "DATABASE_POOL_SIZE": _int(environ, "DATABASE_POOL_SIZE", 5),
{%- if cookiecutter.session_store == "filesystem" %}
        "SESSION_DIR": environ.get("SESSION_DIR") or str(Path(instance_path) / "sessions"),
{%- elif cookiecutter.session_store == "redis" %}
        "REDIS_URL": environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        # Several services (or environments) can share one Redis under different prefixes.
        "SESSION_KEY_PREFIX": environ.get("SESSION_KEY_PREFIX")
        or "{{ cookiecutter.package_name }}:session:",
{%- endif %}
        "LOG_LEVEL": environ.get("LOG_LEVEL", "INFO").upper(),
        "BACKGROUND_THREADS": _int(environ, "BACKGROUND_THREADS", 4),
        "DOWNSTREAM_URLS": _urls(environ, "DOWNSTREAM_URLS"),
        "MAX_CONTENT_LENGTH": _int(environ, "MAX_CONTENT_LENGTH", 1024 * 1024),
        "PERMANENT_SESSION_LIFETIME": timedelta(
            seconds=_int(environ, "SESSION_LIFETIME_SECONDS", 8 * 3600)
        ),
        "SESSION_COOKIE_SECURE": production,
        "TESTING": app_env == "testing",
    }


def check_secret_key(config: Mapping[str, Any]) -> None:
    key = config.get("SECRET_KEY")
    if config["APP_ENV"] != "production":
        return
    if not isinstance(key, str) or not key:
        raise ConfigError(
            "SECRET_KEY is not set. A production service needs a random key of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters, e.g. from "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if key.lower() in WEAK_SECRET_KEYS or len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            "SECRET_KEY is a known example value or shorter than "
            f"{MIN_SECRET_KEY_LENGTH} characters; generate a random one for production"
        )


def init_app(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    if overrides is None:
        # gunicorn does not read .env (the flask CLI does); values already in the
        # environment win, so a deployment's real variables are never replaced.
        load_dotenv()
    environ = dict(os.environ)
    if overrides and "APP_ENV" in overrides:
        environ["APP_ENV"] = str(overrides["APP_ENV"])
    app.config.from_mapping(from_environ(environ, app.instance_path))
    app.config.from_mapping(overrides or {})
    check_secret_key(app.config)
    if not app.config["SECRET_KEY"]:
        # Development only (check_secret_key stops production): a per-process key means
        # sessions do not survive a restart, which is acceptable on a laptop.
        app.config["SECRET_KEY"] = secrets.token_urlsafe(48)
        log.warning("SECRET_KEY is not set; using a random key for this process")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
