"""Fixtures: every test gets a fresh app on a throwaway database and session store.

Servers, where the service uses any, are real (servers.py): their URLs come from TEST_*
environment variables with local defaults; each run creates its own database (and Redis key
prefix) and removes it afterwards, so runs can go in parallel. A server that does not answer
fails the run under CI=true and skips it, loudly, elsewhere.
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from dotenv import dotenv_values
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.core import logs
from {{ cookiecutter.package_name }}.core.db import Base, get_database
from {{ cookiecutter.package_name }}.core.migrate import upgrade

from .helpers import create_test_user, login

# Each answer's fixtures are a module of its own, present when the answer is: the database's
# (fixtures_database.py: database_url), the session store's (store_config) and an option's
# (fixtures_jobs.py, fixtures_tracing.py).
pytest_plugins = sorted(
    f"tests.{path.stem}" for path in Path(__file__).parent.glob("fixtures_*.py")
)
# Settings an option's fixtures add for every test app, when the option is there.
OPTION_CONFIGS = ("jobs_config",)


def read_test_settings(dotenv: Path) -> None:
    """The tests' own settings (TEST_*) from the project's `.env`, as the README says to put
    them there; the environment wins. Only these: the service's settings in `.env` describe
    the development server, never the tests' throwaway apps."""
    if not dotenv.is_file():
        return
    for name, value in dotenv_values(dotenv).items():
        if name.startswith("TEST_") and value:
            os.environ.setdefault(name, value)


read_test_settings(Path(__file__).resolve().parents[1] / ".env")


@pytest.fixture(scope="session")
def base_config(
    request: pytest.FixtureRequest, database_url: str, store_config: dict[str, str]
) -> dict[str, str]:
    """The settings every test app (and the job worker) shares."""
    config = {
        "APP_ENV": "testing",
        "SECRET_KEY": "a-test-secret-key-that-is-long-enough-for-production",
        "DATABASE_URL": database_url,
        # Each app counts login attempts on its own: tests log in far more than people do.
        "RATELIMIT_STORAGE_URI": "memory://",
        **store_config,
    }
    for name in OPTION_CONFIGS:
        try:
            config.update(request.getfixturevalue(name))
        except pytest.FixtureLookupError:
            continue  # the option was not chosen
    return config


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The test database, its schema built by the migrations, for setup and clean-up."""
    engine = create_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app_factory(engine: Engine, base_config: dict[str, str]) -> Iterator[Callable[..., Flask]]:
    """Builds apps with extra config; the tables are emptied after the test."""
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        app = create_app({**base_config, **overrides})
        apps.append(app)
        return app

    yield factory
    for app in apps:
        get_database(app).engine.dispose()
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


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
    """Answers every GET (200, or `status`) and remembers the headers it was sent, with the
    path under ":path" (a name no header can have)."""

    seen: ClassVar[list[dict[str, str]]]
    status: ClassVar[int] = 200

    def do_GET(self) -> None:
        self.seen.append({**dict(self.headers.items()), ":path": self.path})
        body = b'{"status": "ok"}'
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


Seen = tuple[str, list[dict[str, str]]]


@pytest.fixture
def recording_server() -> Iterator[Callable[[int], Seen]]:
    """Real HTTP servers on loopback standing in for other services: each call starts one
    answering `status` and returns (URL, requests seen); all stop after the test."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int) -> Seen:
        seen: list[dict[str, str]] = []
        handler = type("Handler", (RecordingHandler,), {"seen": seen, "status": status})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def downstream_server(recording_server: Callable[[int], Seen]) -> Seen:
    """A real HTTP server on loopback standing in for another service: (URL, headers seen)."""
    return recording_server(200)
