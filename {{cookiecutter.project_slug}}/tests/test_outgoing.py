"""Outgoing calls carry the context: correlation id and traceparent, wherever the work runs."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import click
import pytest
from flask import Flask

from {{ cookiecutter.package_name }}.core import correlation
from {{ cookiecutter.package_name }}.core.background import submit
from {{ cookiecutter.package_name }}.core.context import current_context, with_correlation_id
from {{ cookiecutter.package_name }}.core.outgoing import DEFAULT_TIMEOUT, http, make_client

from .helpers import HEADER, TRACE_ID, logged_in_client

TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]")
Server = tuple[str, list[dict[str, str]]]
Records = Callable[[], list[dict[str, Any]]]


def traceparent_of(headers: dict[str, str]) -> tuple[str, str]:
    match = TRACEPARENT.fullmatch(headers["traceparent"])
    assert match, headers["traceparent"]
    return match.group(1), match.group(2)


def add_caller(app: Flask, url: str) -> None:
    @app.get("/call")
    def call() -> dict[str, object]:
        return {"status": http.get(url).status_code, "trace_id": current_context.trace_id}


def test_a_request_passes_its_id_and_trace_on(app: Flask, downstream_server: Server) -> None:
    url, seen = downstream_server
    add_caller(app, url)
    response = app.test_client().get("/call", headers={HEADER: "out-1"})
    assert response.status_code == 200
    assert response.json is not None
    (headers,) = seen
    assert headers[HEADER] == "out-1"
    trace, _parent = traceparent_of(headers)
    assert trace == response.json["trace_id"]
{%- if cookiecutter.tracing == "none" %}
    assert trace == correlation.trace_id_for("out-1")
    # This service starts the trace: sampled, so that a downstream that traces records it.
    assert headers["traceparent"].endswith("-01")


def test_the_incoming_sampled_flag_is_passed_on(app: Flask, downstream_server: Server) -> None:
    url, seen = downstream_server
    add_caller(app, url)
    app.test_client().get("/call", headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-00"})
    assert seen[0]["traceparent"].endswith("-00")
{%- endif %}


def test_an_incoming_trace_is_continued_with_a_new_parent(
    app: Flask, downstream_server: Server
) -> None:
    url, seen = downstream_server
    add_caller(app, url)
    incoming = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
    app.test_client().get("/call", headers={HEADER: "out-2", "traceparent": incoming})
    app.test_client().get("/call", headers={"traceparent": incoming})
    first, second = seen
    assert first[HEADER] == "out-2"
    assert second[HEADER] == TRACE_ID  # the trace id is the correlation id when alone
    for headers in seen:
        trace, parent = traceparent_of(headers)
        assert trace == TRACE_ID
        assert parent != "00f067aa0ba902b7"
{%- if cookiecutter.tracing == "opentelemetry" %}


def test_at_an_edge_a_clients_trace_context_goes_no_further(
    app_factory: Callable[..., Flask], downstream_server: Server
) -> None:
    """CORRELATION_ID_HEADERS without traceparent (empty, at an edge): the client's
    traceparent, tracestate and baggage start nothing and are never passed on."""
    url, seen = downstream_server
    app = app_factory(CORRELATION_ID_HEADERS=[])
    add_caller(app, url)
    response = app.test_client().get(
        "/call",
        headers={
            "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-00",
            "tracestate": "vendor=chosen-by-the-client",
            "baggage": "userId=admin",
        },
    )
    assert response.json is not None
    (headers,) = seen
    sent = {name.lower(): value for name, value in headers.items()}
    assert "baggage" not in sent and "tracestate" not in sent
    trace, _parent = traceparent_of(headers)
    assert trace != TRACE_ID
    assert trace == response.json["trace_id"] == response.headers[HEADER]
    assert sent["traceparent"].endswith("-01")  # the client's flag does not decide


def test_a_client_cannot_choose_the_trace_id(app: Flask, downstream_server: Server) -> None:
    url, seen = downstream_server
    add_caller(app, url)
    app.test_client().get("/call", headers={HEADER: TRACE_ID})
    assert seen[0][HEADER] == TRACE_ID
    assert traceparent_of(seen[0])[0] != TRACE_ID


def test_a_generated_id_is_the_trace_id(app: Flask, downstream_server: Server) -> None:
    url, seen = downstream_server
    add_caller(app, url)
    response = app.test_client().get("/call")
    assert traceparent_of(seen[0])[0] == response.headers[HEADER] == seen[0][HEADER]
    assert correlation.is_trace_id(response.headers[HEADER])
{%- else %}


def test_a_hex_correlation_id_is_the_trace_id(app: Flask, downstream_server: Server) -> None:
    url, seen = downstream_server
    add_caller(app, url)
    app.test_client().get("/call", headers={HEADER: TRACE_ID})
    assert traceparent_of(seen[0])[0] == TRACE_ID
{%- endif %}


def test_a_cli_command_passes_its_id_on(app: Flask, downstream_server: Server) -> None:
    url, seen = downstream_server

    @app.cli.command("call-out")
    @with_correlation_id
    def call_out() -> None:
        http.get(url)

    result = app.test_cli_runner().invoke(args=["call-out", "--correlation-id", "batch-7"])
    assert result.exit_code == 0, result.output
    assert seen[0][HEADER] == "batch-7"


def test_background_work_passes_the_id_on(app: Flask, downstream_server: Server) -> None:
    url, seen = downstream_server

    def fetch() -> int:
        return http.get(url).status_code

    @app.get("/later")
    def later() -> dict[str, object]:
        return {"status": submit(fetch).result(timeout=10), "trace_id": current_context.trace_id}

    body = app.test_client().get("/later", headers={HEADER: "thread-1"}).json
    assert body is not None
    assert seen[0][HEADER] == "thread-1"
    assert traceparent_of(seen[0])[0] == body["trace_id"]
{%- if cookiecutter.tracing == "none" %}
    assert body["trace_id"] == correlation.trace_id_for("thread-1")
{%- endif %}


def test_headers_set_by_the_caller_win(app: Flask, downstream_server: Server) -> None:
    url, seen = downstream_server
    with app.app_context():
        http.get(url, headers={HEADER: "forwarded-id"})
    assert seen[0][HEADER] == "forwarded-id"


def test_outside_any_context_nothing_is_added(downstream_server: Server) -> None:
    url, seen = downstream_server
    http.get(url)
    assert HEADER not in seen[0]
{%- if cookiecutter.tracing == "none" %}
    assert "traceparent" not in seen[0]
{%- endif %}


def test_timeouts_are_set_by_default() -> None:
    assert http.timeout == DEFAULT_TIMEOUT
    assert DEFAULT_TIMEOUT.connect is not None and DEFAULT_TIMEOUT.read is not None
    with make_client("http://billing.internal") as billing:
        assert billing.timeout == DEFAULT_TIMEOUT
        assert str(billing.base_url) == "http://billing.internal"


def test_downstream_example_endpoint(
    app_factory: Callable[..., Flask],
    downstream_server: Server,
    recording_server: Callable[[int], Server],
    log_records: Records,
) -> None:
    url, seen = downstream_server
    refusing, refused = recording_server(401)
    app = app_factory(
        DOWNSTREAM_URLS={"billing": url, "archive": "http://127.0.0.1:1", "audit": refusing},
        DOWNSTREAM_TOKENS={"billing": "billing-token"},
    )
    client, _token = logged_in_client(app)
    response = client.get("/downstream", headers={HEADER: "fan-out"})
    assert response.status_code == 200
    assert response.json == {
        "services": [
            {"service": "billing", "status": "ok", "http_status": 200},
            {"service": "archive", "status": "unreachable", "http_status": None},
            {"service": "audit", "status": "refused", "http_status": 401},
        ]
    }
    # An API endpoint, with the token configured for that service and for no other.
    assert seen[0][":path"] == refused[0][":path"] == "/auth/me"
    assert seen[0]["Authorization"] == "Bearer billing-token"
    assert "Authorization" not in refused[0]
    assert seen[0][HEADER] == "fan-out"
    assert any(r["message"] == "downstream service refused our token" for r in log_records())
    # Internal addresses and error types reach the log, never the client.
    assert "127.0.0.1" not in response.get_data(as_text=True)
    assert any(r.get("url") == "http://127.0.0.1:1" for r in log_records())


def test_downstream_needs_a_login(
    app_factory: Callable[..., Flask], downstream_server: Server
) -> None:
    app = app_factory(DOWNSTREAM_URLS={"billing": downstream_server[0]})
    response = app.test_client().get("/downstream")
    assert response.status_code == 401
    assert downstream_server[1] == []


def test_a_slow_downstream_is_a_504_within_the_deadline(app_factory: Callable[..., Flask]) -> None:
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            release.wait(10)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app = app_factory(
            DOWNSTREAM_URLS={"slow": f"http://127.0.0.1:{server.server_address[1]}"},
            DOWNSTREAM_DEADLINE_SECONDS=1,
        )
        client, _token = logged_in_client(app)
        response = client.get("/downstream")
        assert response.status_code == 504
        assert response.json is not None and response.json["error"] == "gateway_timeout"
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_a_silent_service_cannot_take_every_thread(app_factory: Callable[..., Flask]) -> None:
    """Sixteen concurrent /downstream against a silent service held every worker thread for
    8-12 s: past DOWNSTREAM_CONCURRENCY a request is a 503 at once, and probes answer."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # connections are accepted by the kernel, and never answered
    try:
        app = app_factory(
            DOWNSTREAM_URLS={"silent": f"http://127.0.0.1:{silent.getsockname()[1]}"},
            DOWNSTREAM_DEADLINE_SECONDS=2,
            DOWNSTREAM_CONCURRENCY=2,
        )
        client, _token = logged_in_client(app)
        answers: list[tuple[int, float]] = []

        def ask() -> None:
            started = time.monotonic()
            status = client.get("/downstream").status_code
            answers.append((status, time.monotonic() - started))

        askers = [threading.Thread(target=ask) for _ in range(16)]
        for asker in askers:
            asker.start()
        assert app.test_client().get("/healthz").status_code == 200
        for asker in askers:
            asker.join()
        held = sorted(seconds for status, seconds in answers if status == 504)
        refused = [seconds for status, seconds in answers if status == 503]
        assert len(held) + len(refused) == 16 and 1 <= len(held) <= 2
        assert max(held) < 3  # the deadline, and no more
        assert max(refused) < 1
    finally:
        silent.close()


@pytest.mark.parametrize("value", ["bad value", "x" * 129])
def test_an_invalid_cli_correlation_id_is_refused(app: Flask, value: str) -> None:
    @app.cli.command("noop")
    @with_correlation_id
    def noop() -> None:
        click.echo("ran")

    result = app.test_cli_runner().invoke(args=["noop", "--correlation-id", value])
    assert result.exit_code == 2
    assert "--correlation-id" in result.output
