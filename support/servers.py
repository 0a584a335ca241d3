"""The real servers the variants run against, and throwaway databases on them."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MYSQL_URL = os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

SERVERS = {
    "postgresql": ("PostgreSQL", POSTGRES_URL),
    "mysql": ("MariaDB/MySQL", MYSQL_URL),
    "redis": ("Redis", REDIS_URL),
}

_CREATE = {
    "postgresql": ('CREATE DATABASE "{name}"', 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'),
    "mysql": (
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        "DROP DATABASE IF EXISTS `{name}`",
    ),
}


def require(server: str) -> None:
    """Fail under CI, skip loudly elsewhere, when a server the variant needs is down."""
    label, url = SERVERS[server]
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 2).close()
    except OSError as error:
        message = (
            f"{label} does not answer at {parts.hostname}:{parts.port} ({error}); "
            "start it with `bash .ci/run` or see README.md"
        )
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def _admin(python: Path, database: str, sql: str) -> None:
    script = (
        "import sys\nfrom sqlalchemy import create_engine, text\n"
        "engine = create_engine(sys.argv[1], isolation_level='AUTOCOMMIT')\n"
        "with engine.connect() as c: c.execute(text(sys.argv[2]))\n"
    )
    url = POSTGRES_URL if database == "postgresql" else MYSQL_URL
    subprocess.run([str(python), "-c", script, url, sql], check=True, timeout=60)


def production_env(stack: ExitStack, python: Path, database: str) -> dict[str, str]:
    """Production settings on a throwaway database and Redis namespace of the real servers,
    all removed when `stack` closes."""
    namespace = stack.enter_context(throwaway_redis_namespace(python))
    return {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        **database_settings(stack, python, database),
        "REDIS_URL": REDIS_URL,
        "SESSION_KEY_PREFIX": f"{namespace}:session:",
        "RATELIMIT_KEY_PREFIX": f"{namespace}:ratelimit",
    }


def database_settings(stack: ExitStack, python: Path, database: str) -> dict[str, str]:
    """DATABASE_URL of a throwaway database on the variant's server, removed when `stack`
    closes; none for SQLite (its default file in the instance folder: an empty DATABASE_URL
    is refused)."""
    url = stack.enter_context(throwaway_database(python, database))
    return {"DATABASE_URL": url} if url else {}


@contextmanager
def throwaway_redis_namespace(python: Path) -> Iterator[str]:
    """A name of its own on the shared Redis (for key prefixes and queues); every key that
    contains it is deleted afterwards."""
    namespace = f"tpl-{uuid.uuid4().hex[:16]}"
    yield namespace
    script = (
        "import sys\nfrom redis import Redis\nclient = Redis.from_url(sys.argv[1])\n"
        "for key in client.scan_iter(match='*' + sys.argv[2] + '*'): client.delete(key)\n"
    )
    subprocess.run([str(python), "-c", script, REDIS_URL, namespace], check=True, timeout=60)


@contextmanager
def throwaway_database(python: Path, database: str) -> Iterator[str]:
    """A new, empty database on the variant's server; yields its URL and drops it after."""
    if database == "sqlite":
        yield ""
        return
    require(database)
    name = f"tpl_{uuid.uuid4().hex[:16]}"
    create, drop = _CREATE[database]
    _admin(python, database, create.format(name=name))
    base = POSTGRES_URL if database == "postgresql" else MYSQL_URL
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        _admin(python, database, drop.format(name=name))
