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
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from cachelib.file import FileSystemCache
from flask import Flask, Request, Response, current_app, request
from flask.sessions import SessionMixin
from flask_session.cachelib import CacheLibSessionInterface
{%- elif cookiecutter.session_store == "redis" %}

import hashlib
from typing import Any, cast

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
from .context import ENVIRON_AUTH, ENVIRON_USER, SESSION_USER_KEY{% if cookiecutter.session_store == "filesystem" %}, with_correlation_id{% endif %}
from .errors import register_unavailable
from .tokens import is_token_request

# Where open_session leaves a store failure for refuse_without_session.
ENVIRON_STORE_ERROR = "{{ cookiecutter.package_name }}.session_store_error"
_EXTENSION = "session_store"


class ServiceSessions:
    """What this service adds to Flask-Session's interface, whatever the store."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.path in PROBE_PATHS or is_token_request(request.environ):
            # A probe answers even when the store is down or a client sends a cookie. A token
            # request is authenticated by its token alone: its session, if it sent a cookie,
            # is neither read nor written, and it gets no cookie (core/tokens.py).
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
        user_id = session.get(SESSION_USER_KEY)
        request.environ[ENVIRON_USER] = user_id
        if user_id is not None:
            request.environ[ENVIRON_AUTH] = "session"
        return session  # type: ignore[no-any-return]

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        ended = session.modified and not session
        try:
            super().save_session(app, session, response)  # type: ignore[misc]
        except STORE_ERRORS:
            # Flask answers 503 and finishes that response by saving again: once is enough.
            session.modified = False
            raise
        if ended:
            # Flask-Session deletes the cookie without the attributes it was set with, and a
            # browser ignores a __Host- cookie that is not Secure: delete it the way it was set.
            name = self.get_cookie_name(app)  # type: ignore[attr-defined]
            others = [
                cookie
                for cookie in response.headers.getlist("Set-Cookie")
                if not cookie.startswith(f"{name}=")
            ]
            response.headers.remove("Set-Cookie")
            for cookie in others:
                response.headers.add("Set-Cookie", cookie)
            response.delete_cookie(
                name,
                path=self.get_cookie_path(app),  # type: ignore[attr-defined]
                domain=self.get_cookie_domain(app),  # type: ignore[attr-defined]
                secure=self.get_cookie_secure(app),  # type: ignore[attr-defined]
                httponly=True,
                samesite=self.get_cookie_samesite(app),  # type: ignore[attr-defined]
            )


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
    # Session files are credentials: the folder is this user's only (cachelib would create
    # it with the umask's permissions).
    Path(app.config["SESSION_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    return SessionFiles(app.config["SESSION_DIR"])


def prune_sessions(directory: Path, lifetime: timedelta) -> int:
    """Delete the session files that outlived `lifetime`; returns how many.

    A session file is written only when the session changes (SESSION_REFRESH_EACH_REQUEST is
    off), so its modification time plus the lifetime is when it expired. cachelib never
    deletes such files itself when it is told never to evict (threshold=0).
    """
    cutoff = time.time() - lifetime.total_seconds()
    removed = 0
    for path in directory.iterdir():
        if path.name.startswith("__"):  # cachelib's own bookkeeping
            continue
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # a logout or another prune removed it first
            continue
    return removed


@click.command("prune-sessions")
@with_correlation_id
def prune_sessions_command() -> None:
    """Delete expired session files (run it daily, e.g. from cron)."""
    removed = prune_sessions(
        Path(current_app.config["SESSION_DIR"]), current_app.permanent_session_lifetime
    )
    click.echo(f"Removed {removed} expired session files.")


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


class SessionRedis(Redis):
    """The session store's Redis client: each session lives under a hash of its id, so that
    whoever can list this Redis's keys (a monitoring tool, another service sharing it)
    learns no session id. Flask-Session reads and writes sessions with get, set and delete."""

    key_prefix = ""

    def store_key(self, name: Any) -> str:
        raw = name if isinstance(name, bytes) else str(name).encode()
        return self.key_prefix + hashlib.sha256(raw).hexdigest()

    def get(self, name: Any) -> Any:
        return super().get(self.store_key(name))

    def set(self, name: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        return super().set(self.store_key(name), value, *args, **kwargs)

    def delete(self, *names: Any) -> Any:
        return super().delete(*(self.store_key(name) for name in names))


def _store(app: Flask) -> SessionRedis:
    client = cast(
        SessionRedis,
        SessionRedis.from_url(
            app.config["REDIS_URL"],
            # An outage must fail in well under a second, not hold the worker.
            socket_connect_timeout=0.3,
            socket_timeout=0.3,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
        ),
    )
    client.key_prefix = app.config["SESSION_KEY_PREFIX"]
    return client


def _interface(app: Flask, store: SessionRedis) -> ServiceSessionInterface:
    # Given the client rather than SESSION_TYPE: Flask-Session silently falls back to
    # localhost when its Redis client is missing or of another type.
    return ServiceSessionInterface(
        app, client=store, key_prefix=app.config["SESSION_KEY_PREFIX"], serialization_format="json"
    )


def ping(app: Flask) -> None:
    session_store(app).ping()
{%- endif %}


def init_app(app: Flask) -> None:
    # In production the __Host- prefix makes browsers refuse the cookie unless it is Secure,
    # for this host only and for every path: no sibling domain can plant or shadow it.
    prefix = "__Host-" if app.config["APP_ENV"] == "production" else ""
    app.config.update(
        SESSION_COOKIE_NAME=f"{prefix}{{ cookiecutter.package_name }}_session",
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
{%- if cookiecutter.session_store == "filesystem" %}
    app.cli.add_command(prune_sessions_command)
{%- endif %}
