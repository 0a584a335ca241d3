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

from cachelib.file import FileSystemCache
from flask import Flask, Request, Response
from flask.sessions import SessionMixin
from flask_session.cachelib import CacheLibSessionInterface
{%- elif cookiecutter.session_store == "redis" %}

from flask import Flask, Request, Response
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


class LeanSessions:
    """What this service adds to Flask-Session's interface, whatever the store."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.path in PROBE_PATHS:
            return self.make_null_session(app)  # type: ignore[attr-defined,no-any-return]
        if "HTTP_COOKIE" not in request.environ:
            # What Flask-Session does for a request without a session cookie, without
            # parsing an absent Cookie header first.
            return self.session_class(  # type: ignore[attr-defined,no-any-return]
                sid=self._generate_sid(self.sid_length),  # type: ignore[attr-defined]
                permanent=self.permanent,  # type: ignore[attr-defined]
            )
        session = super().open_session(app, request)  # type: ignore[misc]
        # For the server's access line: who the request came from, known here for free.
        # dict.get, because the session's own get marks it accessed (Vary: Cookie).
        request.environ[ENVIRON_USER] = dict.get(session, SESSION_USER_KEY)
        return session  # type: ignore[no-any-return]

    def save_session(self, app: Flask, session: SessionMixin | None, response: Response) -> None:
        if session is None:  # the store failed while opening it: the 503 is on its way
            return
        # Unchanged, so nothing to save (SESSION_REFRESH_EACH_REQUEST is off): Flask-Session
        # would still work out the cookie settings and the store id before finding that out.
        if not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)  # type: ignore[misc]
{%- if cookiecutter.session_store == "filesystem" %}


class SessionStoreError(OSError):
    """The session folder could not be written."""


class ServiceSessionInterface(LeanSessions, CacheLibSessionInterface):  # type: ignore[misc]
    def _upsert_session(self, lifetime: timedelta, session: SessionMixin, store_id: str) -> None:
        # cachelib reports a failed write only by returning False; losing a login silently
        # is worse than a 503.
        if not self.cache.set(store_id, dict(session), int(lifetime.total_seconds())):
            raise SessionStoreError(f"could not write session to {self.cache._path}")


def _interface(app: Flask) -> ServiceSessionInterface:
    # threshold=0: never evict. The default (500) silently logs the oldest users out.
    store = FileSystemCache(app.config["SESSION_DIR"], threshold=0, mode=0o600)
    return ServiceSessionInterface(app, client=store, key_prefix="", serialization_format="json")


def ping(app: Flask) -> None:
    directory = Path(app.config["SESSION_DIR"])
    if not (directory.is_dir() and os.access(directory, os.W_OK)):
        raise SessionStoreError(f"session directory {directory} is not writable")
{%- elif cookiecutter.session_store == "redis" %}


class ServiceSessionInterface(LeanSessions, RedisSessionInterface):  # type: ignore[misc]
    """Sessions in Redis, shared by every instance."""


def _interface(app: Flask) -> ServiceSessionInterface:
    client = Redis.from_url(
        app.config["REDIS_URL"],
        # An outage must fail in well under a second, not hold the worker.
        socket_connect_timeout=0.3,
        socket_timeout=0.3,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )
    # Built here rather than through SESSION_TYPE: Flask-Session silently falls back to
    # localhost when its Redis client is missing or of another type.
    return ServiceSessionInterface(
        app,
        client=client,
        key_prefix=app.config["SESSION_KEY_PREFIX"],
        serialization_format="json",
    )


def ping(app: Flask) -> None:
    app.session_interface.client.ping()  # type: ignore[attr-defined]
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
    app.session_interface = _interface(app)
{%- if cookiecutter.session_store == "filesystem" %}
    register_unavailable(app, (SessionStoreError,), "session store")
{%- elif cookiecutter.session_store == "redis" %}
    register_unavailable(app, (RedisConnectionError, RedisTimeoutError), "session store")
{%- endif %}
