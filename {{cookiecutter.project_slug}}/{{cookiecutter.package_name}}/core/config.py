"""Configuration: every setting the service reads, declared once, in `Settings`.

A setting is an environment variable (or a line of `.env`; the environment wins) with a
type, a default and one line of description. `Settings` is this module's core settings plus
those of the database (`core/engine.py`) and of the session store (`core/session_store.py`);
an option's module declares its own the same way and reads them with `apply`. The settings
table of docs/configuration.md and `.env.example` are checked against these declarations,
both ways, by `tests/test_settings.py`. A bad value stops the service with one line naming
the setting and the value.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit

import click
from dotenv import dotenv_values, find_dotenv
from flask import Flask
from limits import parse
from pydantic import Field, NonNegativeInt, PositiveInt, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .engine import DatabaseSettings
from .session_store import StoreSettings

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["ConfigError", "Settings", "apply", "init_app", "log_start"]

# Values copied from examples, tutorials and this project's own files (compose.yaml's
# development key): a production key must be none of them.
PUBLISHED_SECRET_KEYS = frozenset(
    {
        "change-me",
        "changeme",
        "secret",
        "dev",
        "development",
        "test",
        "testing",
        "please-change",
        "compose-development-key-not-for-production-use",
    }
)
MIN_SECRET_KEY_LENGTH = 32
# A random key of 32 characters has far more distinct characters than this; `a` * 32 or a
# row of spaces has one.
MIN_SECRET_KEY_CHARACTERS = 10
# Settings whose empty value means something (no header is trusted; development's random
# key); any other setting given empty is a mistake, never a silent default.
MAY_BE_EMPTY = frozenset(
    {"CORRELATION_ID_HEADERS", "SECRET_KEY", "DOWNSTREAM_URLS", "DOWNSTREAM_TOKENS"}
)
# RFC 9110 token characters.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# What an API token may look like (core/tokens.py makes them), here and from other services.
API_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,200}")
# Health probes answer without the session store, even when a client sends a cookie, and
# their access-log lines are DEBUG.
PROBE_PATHS = frozenset({"/healthz", "/readyz"})
# The package's name, for names the service gives its keys in shared stores.
PACKAGE = __name__.split(".")[0]

_EXTENSION = "settings"
_SOURCES = "settings_sources"
log = logging.getLogger(__name__)
SettingsModel = TypeVar("SettingsModel", bound=BaseSettings)
# Settings are environment variables by their exact names; other variables are not settings.
SOURCES = SettingsConfigDict(case_sensitive=True, extra="ignore")


class ConfigError(click.ClickException):
    """The environment does not describe a service that may start.

    A click exception, so that a `flask` command prints the message alone, not a traceback.
    """


def _words(value: object) -> object:
    """`a, b c` -> ["a", "b", "c"]: lists in the environment are separated by commas or spaces."""
    return value.replace(",", " ").split() if isinstance(value, str) else value


Words = Annotated[list[str], NoDecode]


class Settings(DatabaseSettings, StoreSettings, BaseSettings):
    """Every setting of the service (an option's module adds its own: see `load`)."""

    model_config = SOURCES

    APP_ENV: Literal["production", "development", "testing"] = Field(
        "production",
        description="production: a strong SECRET_KEY, Secure cookies, HSTS, no /docs; "
        "development: a random key per process when SECRET_KEY is empty",
    )
    SECRET_KEY: str = Field(
        "", description="Signs sessions and cursors; random, 32 characters or more"
    )
    SESSION_LIFETIME_SECONDS: PositiveInt = Field(
        8 * 3600, description="How long a login lasts, from its last change"
    )
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="The least severe log lines written"
    )
    ACCESS_LOG: bool | None = Field(
        None,
        description="The app's own access line per request (default: on, except in production, "
        "where gunicorn writes it)",
    )
    MAX_CONTENT_LENGTH: PositiveInt = Field(
        1024 * 1024, description="The largest request body accepted, in bytes (413 beyond)"
    )
    API_DOCS: bool | None = Field(
        None, description="Serve /docs (default: on, except in production); /openapi.json always"
    )
    TRUSTED_PROXY_HOPS: NonNegativeInt = Field(
        0,
        le=10,
        description="Proxies in front whose X-Forwarded-* headers to believe (1 behind the "
        "shipped nginx)",
    )
    CORRELATION_ID_HEADERS: Words | None = Field(
        None,
        description="Incoming headers that may carry a correlation id, in order (default: the "
        "service's header, X-Request-ID, traceparent); empty: always a new id",
    )
    BACKGROUND_THREADS: PositiveInt = Field(
        4, description="Threads per worker process for background work (core/background.py)"
    )
    DOWNSTREAM_URLS: Words = Field(
        [], description="Other services GET /downstream calls, as name=URL, comma-separated"
    )
    DOWNSTREAM_TOKENS: Words = Field(
        [], description="The API token to send to each of them, as name=token"
    )
    DOWNSTREAM_DEADLINE_SECONDS: PositiveInt = Field(
        3, description="One deadline for all the calls of one GET /downstream"
    )
    DOWNSTREAM_CONCURRENCY: PositiveInt = Field(
        2,
        description="GET /downstream requests one worker process serves at once (more: 503 at "
        "once), so that a slow service cannot hold every thread",
    )
    IDEMPOTENCY_KEY_RETENTION_SECONDS: PositiveInt = Field(
        24 * 3600, description="How long a write's response is kept for a retry with its key"
    )
    LOGIN_RATE_LIMIT_PER_CLIENT: str = Field(
        "20/minute", description="Failed logins allowed per client address"
    )
    LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT: str = Field(
        "5/minute", description="Failed logins allowed per account from one address"
    )
    LOGIN_RATE_LIMIT_PER_ACCOUNT: str = Field(
        "1000/hour", description="Failed logins allowed per account from all addresses together"
    )
    WRITE_RATE_LIMIT_PER_CALLER: str = Field(
        "600/minute",
        description="Writes (POST, PUT, PATCH, DELETE) allowed per signed-in user or API token",
    )
    MAX_API_TOKENS_PER_USER: PositiveInt = Field(
        20, le=10_000, description="API tokens one user may hold at once (409 beyond)"
    )
    PASSWORD_HASH_CONCURRENCY: PositiveInt = Field(
        1, description="Password hashes computed at once per worker (more wait, then get 503)"
    )
    RATELIMIT_KEY_PREFIX: str = Field(
        f"{PACKAGE}:ratelimit", description="Prefix of the login counters' keys in their store"
    )

    @field_validator(
        "CORRELATION_ID_HEADERS", "DOWNSTREAM_URLS", "DOWNSTREAM_TOKENS", mode="before"
    )
    @classmethod
    def _split(cls, value: object) -> object:
        return _words(value)

    @field_validator(
        "LOGIN_RATE_LIMIT_PER_CLIENT",
        "LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT",
        "LOGIN_RATE_LIMIT_PER_ACCOUNT",
        "WRITE_RATE_LIMIT_PER_CALLER",
    )
    @classmethod
    def _a_rate_limit(cls, value: str) -> str:
        try:
            limit = parse(value)
        except ValueError:
            raise ValueError("must be a limit such as 5/minute or 100 per hour") from None
        if limit.amount < 1:
            raise ValueError("must allow at least one (0 would refuse every request it counts)")
        return value

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("CORRELATION_ID_HEADERS")
    @classmethod
    def _header_names(cls, headers: list[str] | None) -> list[str] | None:
        for header in headers or []:
            if not HEADER_NAME.fullmatch(header):
                raise ValueError(f"must list HTTP header names, not {header!r}")
        return headers

    def flask_config(self, instance_path: str) -> dict[str, Any]:
        """Flask's config keys: every setting, with the defaults that depend on APP_ENV or on
        the instance folder filled in."""
        production = self.APP_ENV == "production"
        config: dict[str, Any] = self.model_dump(exclude_none=True)
        services = downstream_services(self.DOWNSTREAM_URLS)
        config.update(
            ACCESS_LOG=not production if self.ACCESS_LOG is None else self.ACCESS_LOG,
            API_DOCS=not production if self.API_DOCS is None else self.API_DOCS,
            DOWNSTREAM_URLS=services,
            DOWNSTREAM_TOKENS=downstream_tokens(self.DOWNSTREAM_TOKENS, services),
            PERMANENT_SESSION_LIFETIME=timedelta(seconds=self.SESSION_LIFETIME_SECONDS),
            SESSION_COOKIE_SECURE=production,
            TESTING=self.APP_ENV == "testing",
        )
        config.update(self.database_config(instance_path, production))
        config.update(self.store_config(instance_path, production))
        return config


def downstream_services(entries: list[str]) -> dict[str, str]:
    """`billing=https://billing.internal https://other` -> {"billing": ..., "service-2": ...}:
    other services by the name clients see, never their internal address."""
    services = {}
    for position, entry in enumerate(entries, 1):
        label, _, url = entry.partition("=") if "=" in entry.split("://")[0] else ("", "", entry)
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError(f"DOWNSTREAM_URLS must list [name=]http(s):// URLs, not {entry!r}")
        label = label or f"service-{position}"
        if label in services:
            raise ConfigError(f"DOWNSTREAM_URLS names {label!r} twice")
        services[label] = url
    return services


def downstream_tokens(entries: list[str], services: Mapping[str, str]) -> dict[str, str]:
    """`billing=<token> ...`: the API token to send to each service DOWNSTREAM_URLS names."""
    tokens = {}
    for entry in entries:
        label, _, token = entry.partition("=")
        if label not in services:
            raise ConfigError(
                f"DOWNSTREAM_TOKENS: {label!r} is not a service DOWNSTREAM_URLS names"
            )
        if not API_TOKEN.fullmatch(token):
            raise ConfigError(f"DOWNSTREAM_TOKENS: the token for {label!r} is not an API token")
        tokens[label] = token
    return tokens


def _one_line(error: ValidationError) -> str:
    problem = error.errors()[0]
    name = ".".join(str(part) for part in problem["loc"])
    message = problem["msg"].removeprefix("Value error, ")
    given = problem.get("input")
    return f"{name}: {message}" + (f" (got {given!r})" if isinstance(given, str) else "")


def refuse_empty(model: type[BaseSettings], environ: Mapping[str, str]) -> None:
    """An empty setting is a mistake (a variable set from an unset one, a half-edited line),
    never a way back to the default: `DATABASE_URL=` must not quietly create a database."""
    for name in model.model_fields:
        if name not in MAY_BE_EMPTY and name in environ and not environ[name].strip():
            raise ConfigError(f"{name} is empty: remove it to use the default, or give a value")


def read(model: type[SettingsModel], **given: Any) -> SettingsModel:
    """`model`'s settings from the environment, `given` winning over it, or a ConfigError
    naming the first bad one and what it was."""
    refuse_empty(model, {name: value for name, value in os.environ.items() if name not in given})
    try:
        return model(**given)
    except ValidationError as error:
        raise ConfigError(_one_line(error)) from None


def from_environ(environ: Mapping[str, str], instance_path: str) -> dict[str, Any]:
    """Flask's config from these environment variables alone (the tests' way in)."""
    refuse_empty(Settings, environ)
    try:
        settings = Settings.model_validate(dict(environ))
    except ValidationError as error:
        raise ConfigError(_one_line(error)) from None
    return settings.flask_config(instance_path)


class OptionSettings(Protocol):
    """What an option's settings class offers `apply` (core/jobs.py's `JobSettings`)."""

    def flask_config(self, instance_path: str, production: bool) -> dict[str, Any]: ...


def apply(app: Flask, model: type[BaseSettings]) -> None:
    """An option's own settings, read as `init_app` read the service's; what the app was
    given in code (the tests' overrides) wins, as it does for `Settings`."""
    given = app.extensions[_EXTENSION]
    settings: OptionSettings = read(model)  # type: ignore[assignment]
    production = app.config["APP_ENV"] == "production"
    values = settings.flask_config(app.instance_path, production)
    app.config.update({name: value for name, value in values.items() if name not in given})
    check_production(app.config)


def check_production(config: Mapping[str, Any]) -> None:
    """Refuse settings that must never reach production: guessable keys, debug mode,
    missing servers."""
    if config["APP_ENV"] != "production":
        return
    if config.get("DEBUG"):
        raise ConfigError(
            "FLASK_DEBUG is on in production: debug mode shows code and tracebacks to "
            "clients; unset FLASK_DEBUG (and drop --debug)"
        )
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        if name in config and not config[name]:
            raise ConfigError(f"{name} is not set; production has no default server")
    key = config.get("SECRET_KEY")
    advice = "generate one with python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    if not isinstance(key, str) or not key:
        raise ConfigError(
            "SECRET_KEY is not set. A production service needs a random key of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters: {advice}"
        )
    if key.strip().lower() in PUBLISHED_SECRET_KEYS:
        raise ConfigError(f"SECRET_KEY is a published example value: {advice}")
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters: {advice}"
        )
    if len(set(key)) < MIN_SECRET_KEY_CHARACTERS or any(c.isspace() for c in key):
        raise ConfigError(
            f"SECRET_KEY is not random (too few distinct characters, or spaces): {advice}"
        )


def read_dotenv() -> tuple[str, dict[str, str]]:
    """The `.env` file found from the working directory up, and its values (the flask CLI
    reads the same file); values already in the environment win, so a deployment's real
    variables are never replaced. ("", {}) when there is none."""
    path = find_dotenv(usecwd=True)
    if not path:
        return "", {}
    values = {name: value for name, value in dotenv_values(path).items() if value is not None}
    for name, value in values.items():  # load_dotenv's rule, without reading the file again
        os.environ.setdefault(name, value)
    return path, values


def init_app(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Reads every setting of `Settings` (APP_ENV, SECRET_KEY and API_DOCS here), and
    FLASK_DEBUG through Flask; `overrides` (the tests') win over the environment and `.env`."""
    dotenv_path, dotenv = ("", {}) if overrides is not None else read_dotenv()
    given = dict(overrides or {})
    app.extensions[_EXTENSION] = given
    app_env = {"APP_ENV": given["APP_ENV"]} if "APP_ENV" in given else {}
    app.config.from_mapping(read(Settings, **app_env).flask_config(app.instance_path))
    app.config.from_mapping(given)
    if (
        app.config["APP_ENV"] == "production"
        and dotenv.get("APP_ENV", "production") != "production"
    ):
        raise ConfigError(
            f"{dotenv_path} is a development file (APP_ENV={dotenv['APP_ENV']}) and this start "
            "is production: remove it from the service's folder, or set APP_ENV=development "
            "in the environment for a development start"
        )
    check_production(app.config)
    names = [name for name in Settings.model_fields if name not in given]
    # The flask CLI loads .env into the environment before the app is made: a value equal
    # to the file's is taken to come from the file.
    from_file = {name for name in names if name in dotenv and os.environ.get(name) == dotenv[name]}
    app.extensions[_SOURCES] = {
        "environment": sorted(n for n in names if n in os.environ and n not in from_file),
        dotenv_path or ".env": sorted(from_file),
        "code": sorted(given),
    }
    if not app.config["SECRET_KEY"]:
        # Development only (check_production stops production): a per-process key means
        # sessions do not survive a restart, which is acceptable on a laptop.
        app.config["SECRET_KEY"] = secrets.token_urlsafe(48)
        log.warning("SECRET_KEY is not set; using a random key for this process")
    # Local state (the SQLite file, session files) is for this user's eyes only.
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)


def log_start(app: Flask) -> None:
    """One line per start (a server's worker, a command): the environment, where each
    setting came from (the defaults are the rest), and what that turned on."""
    log.info(
        "service configured",
        extra={
            "app_env": app.config["APP_ENV"],
            "settings_from": app.extensions[_SOURCES],
            "debug": app.debug,
            "api_docs": app.config["API_DOCS"],
            "secure_cookies": app.config["SESSION_COOKIE_SECURE"],
            "hsts": app.config["APP_ENV"] == "production",
        },
    )
