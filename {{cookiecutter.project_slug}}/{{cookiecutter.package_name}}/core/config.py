"""Configuration: every setting comes from the environment (or a `.env` file).

`from_environ` is a pure function of a mapping, so it is trivial to test; `init_app` applies
it, lets a test override anything, and refuses to start a production service with a secret
key that anyone could guess.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from dotenv import find_dotenv, load_dotenv
from flask import Flask

ENVIRONMENTS = ("production", "development", "testing")
# Values copied from examples and tutorials: a production key must be none of them.
WEAK_SECRET_KEYS = frozenset(
    {"change-me", "changeme", "secret", "dev", "development", "test", "testing", "please-change"}
)
MIN_SECRET_KEY_LENGTH = 32
# RFC 9110 token characters.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# What an API token may look like (core/tokens.py makes them), here and from other services.
API_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,200}")
RATELIMIT_KEY_PREFIX = "{{ cookiecutter.package_name }}:ratelimit"
# Health probes answer without the session store, even when a client sends a cookie, and
# their access-log lines are DEBUG.
PROBE_PATHS = frozenset({"/healthz", "/readyz"})
{%- if cookiecutter.database == "sqlite" %}
SQLITE_FILE = "{{ cookiecutter.package_name }}.sqlite3"
{%- elif cookiecutter.database == "postgresql" %}
LOCAL_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/{{ cookiecutter.package_name }}"
{%- elif cookiecutter.database == "mysql" %}
LOCAL_DATABASE = "mysql+pymysql://root@127.0.0.1:3306/{{ cookiecutter.package_name }}"
{%- endif %}
{%- if cookiecutter.session_store == "redis" %}
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
SESSION_KEY_PREFIX = "{{ cookiecutter.package_name }}:session:"
{%- endif %}

log = logging.getLogger(__name__)


class ConfigError(click.ClickException):
    """The environment does not describe a service that may start.

    A click exception, so that a `flask` command prints the message alone, not a traceback.
    """


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    value = _int(environ, name, default)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, not {value}")
    return value


def _services(environ: Mapping[str, str], name: str) -> dict[str, str]:
    """`billing=https://billing.internal, https://other` -> {"billing": ..., "service-2": ...}:
    other services by the name clients see, never their internal address."""
    services = {}
    for position, entry in enumerate(environ.get(name, "").replace(",", " ").split(), 1):
        label, _, url = entry.partition("=") if "=" in entry.split("://")[0] else ("", "", entry)
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError(f"{name} must list [name=]http(s):// URLs, not {entry!r}")
        label = label or f"service-{position}"
        if label in services:
            raise ConfigError(f"{name} names {label!r} twice")
        services[label] = url
    return services


def _service_tokens(environ: Mapping[str, str], name: str, services: str) -> dict[str, str]:
    """`billing=<token> ...`: the API token to send to each service `services` names."""
    known = _services(environ, services)
    tokens = {}
    for entry in environ.get(name, "").replace(",", " ").split():
        label, _, token = entry.partition("=")
        if label not in known:
            raise ConfigError(f"{name}: {label!r} is not a service {services} names")
        if not API_TOKEN.fullmatch(token):
            raise ConfigError(f"{name}: the token for {label!r} is not an API token")
        tokens[label] = token
    return tokens


def _headers(environ: Mapping[str, str], name: str) -> list[str] | None:
    raw = environ.get(name)
    if raw is None:
        return None
    headers = raw.replace(",", " ").split()
    for header in headers:
        if not HEADER_NAME.fullmatch(header):
            raise ConfigError(f"{name} must list HTTP header names, not {header!r}")
    return headers


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (environ.get(name) or "").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    if raw:
        raise ConfigError(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}")
    return default


def _log_level(environ: Mapping[str, str]) -> str:
    level = (environ.get("LOG_LEVEL") or "INFO").upper()
    if level not in logging.getLevelNamesMapping():
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
    return level


def from_environ(environ: Mapping[str, str], instance_path: str) -> dict[str, Any]:
    """Translate environment variables into Flask config keys."""
    app_env = environ.get("APP_ENV", "production")
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {app_env!r}")
    production = app_env == "production"
{%- if cookiecutter.database == "sqlite" %}
    default_database = "sqlite:///" + str(Path(instance_path) / SQLITE_FILE)
{%- else %}
    # Local servers are a development default only: production must name its own.
    default_database = None if production else LOCAL_DATABASE
{%- endif %}
{%- if cookiecutter.background_jobs == "celery" %}
    broker = environ.get("CELERY_BROKER_URL") or (
        None if production else "redis://127.0.0.1:6379/1"
    )
{%- endif %}
    return {
        "APP_ENV": app_env,
        "SECRET_KEY": environ.get("SECRET_KEY", ""),
        "DATABASE_URL": environ.get("DATABASE_URL") or default_database,
        "DATABASE_POOL_SIZE": _int(environ, "DATABASE_POOL_SIZE", 5),
{%- if cookiecutter.session_store == "filesystem" %}
        "SESSION_DIR": environ.get("SESSION_DIR") or str(Path(instance_path) / "sessions"),
{%- elif cookiecutter.session_store == "redis" %}
        "REDIS_URL": environ.get("REDIS_URL") or (None if production else LOCAL_REDIS),
        # Several services (or environments) can share one Redis under different prefixes.
        "SESSION_KEY_PREFIX": environ.get("SESSION_KEY_PREFIX") or SESSION_KEY_PREFIX,
{%- endif %}
        "LOG_LEVEL": _log_level(environ),
        # In production gunicorn writes each request's access line (gunicorn.conf.py); the
        # app writing its own too would double the lines and their cost.
        "ACCESS_LOG": _flag(environ, "ACCESS_LOG", not production),
        "BACKGROUND_THREADS": _int(environ, "BACKGROUND_THREADS", 4),
        "DOWNSTREAM_URLS": _services(environ, "DOWNSTREAM_URLS"),
        "DOWNSTREAM_TOKENS": _service_tokens(environ, "DOWNSTREAM_TOKENS", "DOWNSTREAM_URLS"),
        # How long a write's response is kept for a retry with the same Idempotency-Key.
        "IDEMPOTENCY_KEY_RETENTION_SECONDS": _positive(
            environ, "IDEMPOTENCY_KEY_RETENTION_SECONDS", 24 * 3600
        ),
        # One deadline for all the calls of one GET /downstream.
        "DOWNSTREAM_DEADLINE_SECONDS": _positive(environ, "DOWNSTREAM_DEADLINE_SECONDS", 3),
{%- if cookiecutter.background_jobs == "celery" %}
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": environ.get("CELERY_RESULT_BACKEND") or broker,
        "CELERY_QUEUE": environ.get("CELERY_QUEUE") or "{{ cookiecutter.package_name }}",
{%- endif %}
        "MAX_CONTENT_LENGTH": _int(environ, "MAX_CONTENT_LENGTH", 1024 * 1024),
        # The docs page (/docs); /openapi.json is always served.
        "API_DOCS": _flag(environ, "API_DOCS", not production),
        "TRUSTED_PROXY_HOPS": _int(environ, "TRUSTED_PROXY_HOPS", 0),
        # Failed logins (see core/ratelimit.py for why three counters).
        "LOGIN_RATE_LIMIT_PER_CLIENT": environ.get("LOGIN_RATE_LIMIT_PER_CLIENT") or "20/minute",
        "LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT": (
            environ.get("LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT") or "5/minute"
        ),
        "LOGIN_RATE_LIMIT_PER_ACCOUNT": environ.get("LOGIN_RATE_LIMIT_PER_ACCOUNT") or "1000/hour",
        # Password hashes computed at once per worker process; more logins wait briefly, then
        # get a 503, so that logins cannot starve every other request of CPU.
        "PASSWORD_HASH_CONCURRENCY": _positive(environ, "PASSWORD_HASH_CONCURRENCY", 1),
        "RATELIMIT_KEY_PREFIX": environ.get("RATELIMIT_KEY_PREFIX") or RATELIMIT_KEY_PREFIX,
{%- if cookiecutter.session_store == "redis" %}
        "RATELIMIT_STORAGE_URI": environ.get("RATELIMIT_STORAGE_URI")
        or environ.get("REDIS_URL")
        or LOCAL_REDIS,
{%- else %}
        "RATELIMIT_STORAGE_URI": environ.get("RATELIMIT_STORAGE_URI") or "memory://",
{%- endif %}
        "PERMANENT_SESSION_LIFETIME": timedelta(
            seconds=_int(environ, "SESSION_LIFETIME_SECONDS", 8 * 3600)
        ),
        "SESSION_COOKIE_SECURE": production,
        "TESTING": app_env == "testing",
    }


def from_environ_optional(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings whose defaults belong to the module that uses them: set only when given."""
    optional: dict[str, Any] = {}
    headers = _headers(environ, "CORRELATION_ID_HEADERS")
    if headers is not None:
        # Which incoming headers may carry a correlation id, in order. An edge service facing
        # the internet may trust only its proxy's X-Request-ID, or none (always a new id).
        optional["CORRELATION_ID_HEADERS"] = headers
    return optional


def check_production(config: Mapping[str, Any]) -> None:
    """Refuse settings that must never reach production: guessable keys, missing servers."""
    if config["APP_ENV"] != "production":
        return
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        if name in config and not config[name]:
            raise ConfigError(f"{name} is not set; production has no default server")
    key = config.get("SECRET_KEY")
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
        load_dotenv(find_dotenv(usecwd=True))
    environ = dict(os.environ)
    if overrides and "APP_ENV" in overrides:
        environ["APP_ENV"] = str(overrides["APP_ENV"])
    app.config.from_mapping(from_environ(environ, app.instance_path))
    app.config.from_mapping(from_environ_optional(environ))
    app.config.from_mapping(overrides or {})
    check_production(app.config)
    if not app.config["SECRET_KEY"]:
        # Development only (check_production stops production): a per-process key means
        # sessions do not survive a restart, which is acceptable on a laptop.
        app.config["SECRET_KEY"] = secrets.token_urlsafe(48)
        log.warning("SECRET_KEY is not set; using a random key for this process")
    # Local state (the SQLite file, session files) is for this user's eyes only.
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
