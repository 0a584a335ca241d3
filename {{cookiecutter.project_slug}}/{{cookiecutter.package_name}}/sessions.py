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
from pathlib import Path

from cachelib.file import FileSystemCache
from flask import Flask
from flask_session import Session
{%- elif cookiecutter.session_store == "redis" %}

from flask import Flask
from flask_session import Session
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from .errors import register_unavailable
{%- endif %}


def configure(app: Flask) -> None:
    config = app.config
    config.update(
        SESSION_COOKIE_NAME="{{ cookiecutter.package_name }}_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_PERMANENT=True,
        # Only a request that changes the session writes to the store; a read-only request
        # costs one read. The lifetime therefore counts from the last change (the login).
        SESSION_REFRESH_EACH_REQUEST=False,
        # Values must survive serialization: keep only strings, numbers and booleans.
        SESSION_SERIALIZATION_FORMAT="json",
{%- if cookiecutter.session_store == "filesystem" %}
        SESSION_TYPE="cachelib",
        # threshold=0: never evict. The default (500) silently logs the oldest users out.
        SESSION_CACHELIB=FileSystemCache(config["SESSION_DIR"], threshold=0, mode=0o600),
{%- elif cookiecutter.session_store == "redis" %}
        SESSION_TYPE="redis",
        # Built explicitly: Flask-Session silently falls back to localhost without one.
        SESSION_REDIS=Redis.from_url(
            config["REDIS_URL"],
            # An outage must fail in well under a second, not hold the worker.
            socket_connect_timeout=0.3,
            socket_timeout=0.3,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
        ),
{%- endif %}
    )


def ping(app: Flask) -> None:
{%- if cookiecutter.session_store == "filesystem" %}
    directory = Path(app.config["SESSION_DIR"])
    if not (directory.is_dir() and os.access(directory, os.W_OK)):
        raise OSError(f"session directory {directory} is not writable")
{%- elif cookiecutter.session_store == "redis" %}
    app.config["SESSION_REDIS"].ping()
{%- endif %}


def init_app(app: Flask) -> None:
    configure(app)
    Session(app)
{%- if cookiecutter.session_store == "redis" %}
    register_unavailable(app, (RedisConnectionError, RedisTimeoutError), "session store")
{%- endif %}
