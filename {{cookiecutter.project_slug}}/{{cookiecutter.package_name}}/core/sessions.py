"""Server-side sessions with Flask-Session: the cookie holds only a random session id.
{%- if cookiecutter.session_store == "filesystem" %}

The store is a folder of files (cachelib's FileSystemCache), shared by every worker process
on this machine. For several machines, render the template with the Redis session store.
{%- elif cookiecutter.session_store == "redis" %}

The store is Redis, shared by every instance of the service.
{%- endif %}
"""

from __future__ import annotations

{%- if cookiecutter.session_store == "filesystem" %}

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from cachelib.file import FileSystemCache
from flask import Flask, Request, Response, request
from flask.sessions import SessionMixin
from flask_session.cachelib import CacheLibSessionInterface
{%- elif cookiecutter.session_store == "redis" %}

from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SessionMixin
from flask_session.redis import RedisSessionInterface
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
{%- endif %}

from .config import PROBE_PATHS
from .context import ENVIRON_USER, SESSION_USER_KEY
from .errors import register_unavailable

# Where open_session leaves a store failure for refuse_without_session.
ENVIRON_STORE_ERROR = "{{ cookiecutter.package_name }}.session_store_error"
_EXTENSION = "session_store"


class ServiceSessions:
    """What this service adds to Flask-Session's interface, whatever the store."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.path in PROBE_PATHS:
            # A probe answers even when the store is down or a client sends a cookie.
            return self.make_null_session(app)  # type: ignore[attr-defined,no-any-return]
        try:
            session = super().open_session(app, request)  # type: ignore[misc]
        except STORE_ERRORS as error:
            # Answered with a 503 by `refuse_without_session` before any view runs. Until
            # then a null session stands in, so that what reads the session after the
            # request (flask-login does) finds one.
            request.environ[ENVIRON_STORE_ERROR] = error
            return self.make_null_session(app)  # type: ignore[attr-defined,no-any-return]
        # Who the request arrived as, for log lines and the server's access line.
        request.environ[ENVIRON_USER] = session.get(SESSION_USER_KEY)
        return session  # type: ignore[no-any-return]

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        try:
            super().save_session(app, session, response)  # type: ignore[misc]
        except STORE_ERRORS:
            # Flask answers 503 and finishes that response by saving again: once is enough.
            session.modified = False
            raise


def session_store(app: Flask) -> Any:
    """The store's client (a Redis client or cachelib's file cache), as the service built it."""
    return app.extensions[_EXTENSION]


def refuse_without_session() -> None:
    """A request whose session could not be opened stops here (503), before any view."""
    error = request.environ.get(ENVIRON_STORE_ERROR)
    if error is not None:
        raise error
{%- if cookiecutter.session_store == "filesystem" %}


class SessionStoreError(OSError):
    """The session folder could not be written."""


STORE_ERRORS: tuple[type[Exception], ...] = (SessionStoreError,)


class SessionFiles(FileSystemCache):
    """cachelib's file cache, strict about writes: cachelib reports a failed write only by
    returning False, and losing a login silently is worse than a 503."""

    def __init__(self, directory: str) -> None:
        # threshold=0: never evict. The default (500) silently logs the oldest users out.
        super().__init__(directory, threshold=0, mode=0o600)
        self.directory = directory

    def set(
        self,
        key: str,
        value: Any,
        timeout: int | timedelta | None = None,
        mgmt_element: bool = False,
    ) -> bool:
        if not super().set(key, value, timeout, mgmt_element):
            raise SessionStoreError(f"could not write a session to {self.directory}")
        return True


class ServiceSessionInterface(ServiceSessions, CacheLibSessionInterface):  # type: ignore[misc]
    """Sessions in files on this machine, shared by its worker processes."""


def _store(app: Flask) -> SessionFiles:
    return SessionFiles(app.config["SESSION_DIR"])


def _interface(app: Flask, store: SessionFiles) -> ServiceSessionInterface:
    return ServiceSessionInterface(app, client=store, key_prefix="", serialization_format="json")


def ping(app: Flask) -> None:
    directory = Path(app.config["SESSION_DIR"])
    if not (directory.is_dir() and os.access(directory, os.W_OK)):
        raise SessionStoreError(f"session directory {directory} is not writable")
{%- elif cookiecutter.session_store == "redis" %}


STORE_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)


class ServiceSessionInterface(ServiceSessions, RedisSessionInterface):  # type: ignore[misc]
    """Sessions in Redis, shared by every instance."""


def _store(app: Flask) -> Redis:
    return Redis.from_url(
        app.config["REDIS_URL"],
        # An outage must fail in well under a second, not hold the worker.
        socket_connect_timeout=0.3,
        socket_timeout=0.3,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


def _interface(app: Flask, store: Redis) -> ServiceSessionInterface:
    # Given the client rather than SESSION_TYPE: Flask-Session silently falls back to
    # localhost when its Redis client is missing or of another type.
    return ServiceSessionInterface(
        app, client=store, key_prefix=app.config["SESSION_KEY_PREFIX"], serialization_format="json"
    )


def ping(app: Flask) -> None:
    session_store(app).ping()
{%- endif %}


def init_app(app: Flask) -> None:
    app.config.update(
        SESSION_COOKIE_NAME="{{ cookiecutter.package_name }}_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_PERMANENT=True,
        # Only a request that changes the session writes to the store; a read-only request
        # costs one read. The lifetime therefore counts from the last change (the login).
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    # Values must survive JSON serialization: keep only strings, numbers and booleans.
    store = _store(app)
    app.extensions[_EXTENSION] = store
    app.session_interface = _interface(app, store)
    app.before_request(refuse_without_session)
    register_unavailable(app, STORE_ERRORS, "session store")
