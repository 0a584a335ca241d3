"""Calling another service as a machine caller: its API token from DOWNSTREAM_TOKENS, and
writes retried safely (one Idempotency-Key for every attempt)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest
from flask import Flask

from {{ cookiecutter.package_name }}.core.config import ConfigError, from_environ
from {{ cookiecutter.package_name }}.core.outgoing import send_with_retries, service_client

TOKEN = "{{ cookiecutter.package_name }}_" + "a" * 43


class ScriptedHandler(BaseHTTPRequestHandler):
    """Answers each request with the next status of `script` (then 201), remembering what it
    was sent."""

    script: ClassVar[list[int]]
    seen: ClassVar[list[dict[str, str]]]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.seen.append(dict(self.headers))
        status = self.script.pop(0) if self.script else 201
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self) -> None:
        self.do_POST()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[str, type[ScriptedHandler]]]:
    handler = type("Handler", (ScriptedHandler,), {"script": [], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


def test_a_service_client_sends_its_token(
    app_factory: Callable[..., Flask], scripted: tuple[str, type[ScriptedHandler]]
) -> None:
    url, handler = scripted
    app = app_factory(DOWNSTREAM_URLS={"billing": url}, DOWNSTREAM_TOKENS={"billing": TOKEN})
    with app.app_context():
        assert service_client("billing").get("/healthz").status_code == 201
        assert service_client("billing") is service_client("billing")  # one per process
    assert handler.seen[0]["Authorization"] == f"Bearer {TOKEN}"


def test_writes_are_retried_with_one_key_until_they_land(
    app_factory: Callable[..., Flask], scripted: tuple[str, type[ScriptedHandler]]
) -> None:
    url, handler = scripted
    handler.script = [503, 409, 502]
    app = app_factory(DOWNSTREAM_URLS={"billing": url})
    with app.app_context():
        client = service_client("billing")
        response = send_with_retries(client, "POST", "/items", json={}, first_delay=0.01)
    assert response.status_code == 201
    keys = {headers["Idempotency-Key"] for headers in handler.seen}
    assert len(handler.seen) == 4 and len(keys) == 1
    (key,) = keys
    assert key.startswith('"') and key.endswith('"')  # a Structured Fields string


def test_a_service_that_is_down_is_retried_then_reported(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(DOWNSTREAM_URLS={"down": "http://127.0.0.1:1"})  # nothing listens there
    with app.app_context(), pytest.raises(httpx.ConnectError):
        send_with_retries(service_client("down"), "POST", "/x", deadline=0.3, first_delay=0.01)


def test_reads_get_no_key_and_the_last_answer_is_returned_at_the_deadline(
    app_factory: Callable[..., Flask], scripted: tuple[str, type[ScriptedHandler]]
) -> None:
    url, handler = scripted
    handler.script = [503] * 1000
    app = app_factory(DOWNSTREAM_URLS={"billing": url})
    with app.app_context():
        client = service_client("billing")
        response = send_with_retries(client, "GET", "/x", deadline=0.3, first_delay=0.01)
    assert response.status_code == 503 and len(handler.seen) > 1
    assert all("Idempotency-Key" not in headers for headers in handler.seen)


def test_a_conflict_is_retried_for_writes_only(
    app_factory: Callable[..., Flask], scripted: tuple[str, type[ScriptedHandler]]
) -> None:
    """A 409 to a write with a key means "still running"; to a read, it is the answer."""
    url, handler = scripted
    handler.script = [409]
    app = app_factory(DOWNSTREAM_URLS={"billing": url})
    with app.app_context():
        client = service_client("billing")
        assert send_with_retries(client, "GET", "/x", first_delay=0.01).status_code == 409
        handler.script = [409]
        assert send_with_retries(client, "POST", "/x", first_delay=0.01).status_code == 201


@pytest.mark.parametrize(
    ("tokens", "problem"),
    [("other=" + TOKEN, "not a service"), ("billing=bad!token", "not an API token")],
)
def test_tokens_must_name_a_configured_service(tokens: str, problem: str) -> None:
    environ = {"DOWNSTREAM_URLS": "billing=http://billing.internal", "DOWNSTREAM_TOKENS": tokens}
    with pytest.raises(ConfigError, match=problem):
        from_environ(environ, "/tmp/instance")  # noqa: S108
