"""Fixtures: every test gets a fresh app on a throwaway database and session store.
{%- if cookiecutter.database != "sqlite" or cookiecutter.session_store == "redis" or cookiecutter.background_jobs == "celery" %}

The servers are real. Their URLs come from TEST_* environment variables with local defaults;
each run creates its own database (and Redis key prefix) and removes it afterwards, so runs
can go in parallel. A server that does not answer fails the run under CI=true and skips it,
loudly, elsewhere.
{% endif %}"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
{%- if cookiecutter.tracing == "opentelemetry" %}
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
{%- endif %}
{%- if cookiecutter.session_store == "redis" or cookiecutter.background_jobs == "celery" %}
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
{%- endif %}
{%- if cookiecutter.database == "sqlite" %}
from sqlalchemy import Engine, create_engine
{%- else %}
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
{%- endif %}

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.core import logs{% if cookiecutter.tracing == "opentelemetry" %}, tracing{% endif %}
from {{ cookiecutter.package_name }}.core.db import Base, get_database, upgrade

from .helpers import {% if cookiecutter.database != "sqlite" %}UNREACHABLE_DATABASE_URL, {% endif %}create_test_user, login

RUN_ID = uuid.uuid4().hex[:12]


def server_missing(server: str, how_to_start: str, error: Exception) -> None:
    message = f"{server} is not reachable ({type(error).__name__}). Start it: {how_to_start}"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
{%- if cookiecutter.database == "sqlite" %}
def unreachable_database_url(tmp_path: Path) -> str:
    """A database that is down: below a regular file no directory can be made, even by root."""
    (tmp_path / "a-file").write_text("")
    return "sqlite:///" + str(tmp_path / "a-file" / "down.sqlite3")
{%- else %}
def unreachable_database_url() -> str:
    """A database that is down."""
    return UNREACHABLE_DATABASE_URL
{%- endif %}


@pytest.fixture(scope="session")
{%- if cookiecutter.database == "sqlite" %}
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return "sqlite:///" + str(tmp_path_factory.mktemp("database") / "test.sqlite3")
{%- elif cookiecutter.database == "postgresql" %}
def database_url() -> Iterator[str]:
    admin_url = os.environ.get(
        "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    name = f"test_{{ cookiecutter.package_name[:30] }}_{RUN_ID}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        server_missing("PostgreSQL", "see 'Getting started' in README.md", error)
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
{%- elif cookiecutter.database == "mysql" %}
def database_url() -> Iterator[str]:
    admin_url = os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/")
    name = f"test_{{ cookiecutter.package_name[:30] }}_{RUN_ID}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(
                text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            )
    except OperationalError as error:
        server_missing("MySQL/MariaDB", "see 'Getting started' in README.md", error)
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()
{%- endif %}
{%- if cookiecutter.session_store == "redis" or cookiecutter.background_jobs == "celery" %}


def redis_server(variable: str) -> Iterator[tuple[str, Redis]]:
    url = os.environ.get(variable, "redis://127.0.0.1:6379/0")
    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except RedisConnectionError as error:
        server_missing("Redis", "see 'Getting started' in README.md", error)
    yield url, client
    client.close()
{%- endif %}
{%- if cookiecutter.session_store == "redis" %}


SESSION_KEY_PREFIX = f"{{ cookiecutter.package_name }}:test-{RUN_ID}:session:"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    for url, client in redis_server("TEST_REDIS_URL"):
        yield url
        for key in client.scan_iter(match=f"{SESSION_KEY_PREFIX}*"):
            client.delete(key)
{%- endif %}
{%- if cookiecutter.background_jobs == "celery" %}


CELERY_QUEUE = f"test-{RUN_ID}"
KOMBU_SHARED_KEYS = ("_kombu.binding_deadlines",)


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """The job broker (and result store): a queue of this run's own on the shared Redis."""
    for url, client in redis_server("TEST_CELERY_BROKER_URL"):
        # kombu's one shared key: removed afterwards only if this run created it.
        shared_keys = [key for key in KOMBU_SHARED_KEYS if not client.exists(key)]
        yield url
        for key in [*client.scan_iter(match=f"*{CELERY_QUEUE}*"), *shared_keys]:
            client.delete(key)
{%- endif %}


@pytest.fixture(scope="session")
{%- if cookiecutter.session_store == "redis" or cookiecutter.background_jobs == "celery" %}
def base_config(
    database_url: str,
{%- if cookiecutter.session_store == "redis" %}
    redis_url: str,
{%- endif %}
{%- if cookiecutter.background_jobs == "celery" %}
    broker_url: str,
{%- endif %}
) -> dict[str, str]:
{%- else %}
def base_config(database_url: str) -> dict[str, str]:
{%- endif %}
    """The settings every test app (and the job worker) shares."""
    return {
        "APP_ENV": "testing",
        "SECRET_KEY": "a-test-secret-key-that-is-long-enough-for-production",
        "DATABASE_URL": database_url,
        # Each app counts login attempts on its own: tests log in far more than people do.
        "RATELIMIT_STORAGE_URI": "memory://",
{%- if cookiecutter.session_store == "redis" %}
        "REDIS_URL": redis_url,
        "SESSION_KEY_PREFIX": SESSION_KEY_PREFIX,
{%- endif %}
{%- if cookiecutter.background_jobs == "celery" %}
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": broker_url,
        "CELERY_QUEUE": CELERY_QUEUE,
{%- endif %}
    }


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The test database, its schema built by the migrations, for setup and clean-up."""
    engine = create_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app_factory(
    engine: Engine, base_config: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., Flask]]:
    """Builds apps with extra config; the tables are emptied after the test."""
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
{%- if cookiecutter.session_store == "filesystem" %}
        config = {**base_config, "SESSION_DIR": str(tmp_path / "sessions"), **overrides}
{%- else %}
        config = {**base_config, **overrides}
{%- endif %}
        app = create_app(config)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        get_database(app).engine.dispose()
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
{%- if cookiecutter.background_jobs == "celery" %}


@pytest.fixture(scope="module")
def worker_env(
    engine: Engine, base_config: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment of a job worker process that shares the tests' servers."""
{%- if cookiecutter.session_store == "filesystem" %}
    return {**base_config, "SESSION_DIR": str(tmp_path_factory.mktemp("worker-sessions"))}
{%- else %}
    return dict(base_config)
{%- endif %}
{%- endif %}


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def user_email(app: Flask) -> str:
    return create_test_user(app)


@pytest.fixture
def logged_in(client: FlaskClient, user_email: str) -> str:
    return login(client, user_email)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Everything logged during the test, formatted exactly as in production."""
    stream = io.StringIO()
    handler = logs.make_handler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


@pytest.fixture
def log_records(log_output: io.StringIO) -> Callable[[], list[dict[str, Any]]]:
    """The log lines emitted so far, parsed (each line must be valid JSON)."""

    def records() -> list[dict[str, Any]]:
        return [json.loads(line) for line in log_output.getvalue().splitlines()]

    return records


class RecordingHandler(BaseHTTPRequestHandler):
    """Answers 200 to every GET and remembers the headers it was sent."""

    seen: ClassVar[list[dict[str, str]]]

    def do_GET(self) -> None:
        self.seen.append(dict(self.headers.items()))
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def downstream_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A real HTTP server on loopback standing in for another service: (URL, headers seen)."""
    seen: list[dict[str, str]] = []
    handler = type("Handler", (RecordingHandler,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()
{%- if cookiecutter.tracing == "opentelemetry" %}


@pytest.fixture(scope="session")
def exporter() -> InMemorySpanExporter:
    """The spans this process finishes, kept in memory (added to the one provider)."""
    memory = InMemorySpanExporter()
    tracing.tracer_provider().add_span_processor(SimpleSpanProcessor(memory))
    return memory


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[Callable[[], list[ReadableSpan]]]:
    """The spans finished during the test, in the order they ended."""
    exporter.clear()
    yield lambda: list(exporter.get_finished_spans())
    exporter.clear()
{%- endif %}
