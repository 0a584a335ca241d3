"""What the tests share: the service's names, data builders, and I/O counters.

A new resource's tests build on these: `create_test_user` and `logged_in_client` for a
caller, `create_item` as the pattern for a builder of the new resource.
"""

from __future__ import annotations

{% if cookiecutter.database != "sqlite" or cookiecutter.session_store == "redis" -%}
import socket
import threading
{% endif -%}
import uuid
from collections.abc import Iterator
from contextlib import contextmanager{% if cookiecutter.database != "sqlite" or cookiecutter.session_store == "redis" %}, suppress{% endif %}
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
{%- if cookiecutter.tracing == "opentelemetry" %}
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
{%- endif %}
from sqlalchemy import Engine, event, select

from {{ cookiecutter.package_name }}.api_tokens import create_token
from {{ cookiecutter.package_name }}.core.db import get_db
from {{ cookiecutter.package_name }}.core.sessions import session_store
from {{ cookiecutter.package_name }}.models import User
from {{ cookiecutter.package_name }}.users import create_user, normalize_email

PACKAGE = "{{ cookiecutter.package_name }}"
# The header that carries the correlation id in and out, and the ones the tests send with it.
HEADER = "{{ cookiecutter.correlation_header }}"
CSRF_HEADER = "X-CSRF-Token"
SESSION_COOKIE = "{{ cookiecutter.package_name }}_session"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PASSWORD = "correct horse battery staple"
# Nothing listens on port 1: connecting there fails at once.
{%- if cookiecutter.database == "postgresql" %}
UNREACHABLE_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:1/down"
{%- elif cookiecutter.database == "mysql" %}
UNREACHABLE_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:1/down"
{%- endif %}
{%- if cookiecutter.session_store == "redis" %}
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"
{%- endif %}


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> str:
    """Log in and return the CSRF token for later unsafe requests."""
    response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.json
    return str(response.json["csrf_token"])  # type: ignore[index]


def create_test_user(app: Flask, email: str | None = None) -> str:
    """A user who can log in with PASSWORD; returns the e-mail."""
    # The app context is for this setup only: requests made inside it would share one `g`.
    with app.app_context():
        return create_user(email or f"user-{uuid.uuid4().hex[:8]}@example.com", PASSWORD).email


def create_api_token(app: Flask, email: str, name: str = "a service") -> str:
    """An API token of the user `email` (a caller that is another service)."""
    with app.app_context():
        user = get_db().scalar(select(User).where(User.email == normalize_email(email)))
        assert user is not None
        return create_token(user, name, None)[0]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def logged_in_client(app: Flask, email: str | None = None) -> tuple[FlaskClient, str]:
    """A client logged in as a new user (or `email`), and its CSRF token."""
    client = app.test_client()
    return client, login(client, email or create_test_user(app))


def create_item(client: FlaskClient, token: str, name: str = "an item") -> dict[str, Any]:
    """An item created through the API by the logged-in client; returns its JSON."""
    response = client.post("/items", json={"name": name}, headers={CSRF_HEADER: token})
    assert response.status_code == 201, response.json
    return dict(response.json)  # type: ignore[arg-type]


@contextmanager
def count_checkouts(engine: Engine) -> Iterator[list[int]]:
    """Counts connections checked out of the pool while the block runs."""
    counter = [0]

    def on_checkout(*_args: Any) -> None:
        counter[0] += 1

    event.listen(engine, "checkout", on_checkout)
    try:
        yield counter
    finally:
        event.remove(engine, "checkout", on_checkout)


@dataclass
class StoreCalls:
    reads: int = 0
    writes: int = 0


STORE_READS = ("get", "has", "exists", "ttl")
STORE_WRITES = ("set", "add", "delete", "expire", "setex", "set_many", "delete_many")


@contextmanager
def count_session_store(app: Flask) -> Iterator[StoreCalls]:
    """Counts reads and writes of the session store while the block runs: the store's own
    methods are wrapped on the one client object the service built."""
    store = session_store(app)
    calls = StoreCalls()

    def counted(name: str, method: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if name in STORE_READS:
                calls.reads += 1
            else:
                calls.writes += 1
            return method(*args, **kwargs)

        return call

    wrapped = [name for name in (*STORE_READS, *STORE_WRITES) if hasattr(store, name)]
    for name in wrapped:
        setattr(store, name, counted(name, getattr(store, name)))
    try:
        yield calls
    finally:
        for name in wrapped:
            delattr(store, name)
{%- if cookiecutter.database != "sqlite" or cookiecutter.session_store == "redis" %}


class TcpProxy:
    """A real server's stand-in on a port of its own, which a test can take down and bring
    back: an outage without touching the shared server."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and cut the open ones, as a crashed server would."""
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        for connection in self._connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._connections += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
{%- endif %}
{%- if cookiecutter.tracing == "opentelemetry" %}


def hex_trace(span: ReadableSpan) -> str:
    """A finished span's trace id as it appears in headers and log lines."""
    assert span.context is not None
    return trace.format_trace_id(span.context.trace_id)


def hex_span(span: ReadableSpan) -> str:
    assert span.context is not None
    return trace.format_span_id(span.context.span_id)


def server_span(spans: list[ReadableSpan]) -> ReadableSpan:
    """The one span of the request itself among a request's spans."""
    (span,) = [span for span in spans if span.kind == SpanKind.SERVER]
    return span
{%- endif %}
