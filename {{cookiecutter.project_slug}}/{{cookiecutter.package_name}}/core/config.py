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
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit

import click
from dotenv import find_dotenv, load_dotenv
from flask import Flask
from pydantic import Field, NonNegativeInt, PositiveInt, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .engine import DatabaseSettings
from .session_store import StoreSettings

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["ConfigError", "Settings", "apply", "init_app"]

# Values copied from examples and tutorials: a production key must be none of them.
WEAK_SECRET_KEYS = frozenset(
    {"change-me", "changeme", "secret", "dev", "development", "test", "testing", "please-change"}
)
MIN_SECRET_KEY_LENGTH = 32
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


def read(model: type[SettingsModel], **given: Any) -> SettingsModel:
    """`model`'s settings from the environment, `given` winning over it, or a ConfigError
    naming the first bad one and what it was."""
    try:
        return model(**given)
    except ValidationError as error:
        raise ConfigError(_one_line(error)) from None


def from_environ(environ: Mapping[str, str], instance_path: str) -> dict[str, Any]:
    """Flask's config from these environment variables alone (the tests' way in)."""
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
    """Reads every setting of `Settings` (APP_ENV and SECRET_KEY here); `overrides` (the
    tests') win over the environment."""
    if overrides is None:
        # gunicorn does not read .env (the flask CLI does); values already in the
        # environment win, so a deployment's real variables are never replaced.
        load_dotenv(find_dotenv(usecwd=True))
    given = dict(overrides or {})
    app.extensions[_EXTENSION] = given
    environment = {"APP_ENV": given["APP_ENV"]} if "APP_ENV" in given else {}
    app.config.from_mapping(read(Settings, **environment).flask_config(app.instance_path))
    app.config.from_mapping(given)
    check_production(app.config)
    if not app.config["SECRET_KEY"]:
        # Development only (check_production stops production): a per-process key means
        # sessions do not survive a restart, which is acceptable on a laptop.
        app.config["SECRET_KEY"] = secrets.token_urlsafe(48)
        log.warning("SECRET_KEY is not set; using a random key for this process")
    # Local state (the SQLite file, session files) is for this user's eyes only.
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
