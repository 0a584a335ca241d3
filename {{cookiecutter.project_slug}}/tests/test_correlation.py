"""Correlation ids: which incoming id is trusted, and that one id is echoed on every response."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.core import correlation

from .helpers import HEADER, TRACE_ID

GENERATED = re.compile(r"[0-9a-f]{32}")
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    "value",
    [
        "abc-123",
        "0123456789abcdef0123456789abcdef",
        "550e8400-e29b-41d4-a716-446655440000",
        "Root=1-67891233-abcdef012345678912345678".replace("Root=", ""),
        "a" * 128,
        "svc:req/42+x=y_z.q",
    ],
)
def test_valid_ids_are_accepted(value: str) -> None:
    assert correlation.is_valid(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a" * 129,
        "has space",
        "new\nline",
        "cr\rlf",
        "nul\x00",
        "tab\t",
        "esc\x1b",
        "{braces}",
        "semi;colon",
        'quote"',
        "ünïcode",
        "<script>",
    ],
)
def test_invalid_ids_are_rejected(value: str) -> None:
    assert not correlation.is_valid(value)


def test_traceparent_trace_id() -> None:
    assert correlation.trace_id(TRACEPARENT) == TRACE_ID
    # A future version may append fields; version 00 may not.
    assert correlation.trace_id(f"01-{TRACE_ID}-00f067aa0ba902b7-01-extra") == TRACE_ID


@pytest.mark.parametrize(
    "value",
    [
        f"00-{TRACE_ID}-00f067aa0ba902b7-01-extra",
        f"ff-{TRACE_ID}-00f067aa0ba902b7-01",
        f"00-{'0' * 32}-00f067aa0ba902b7-01",
        f"00-{TRACE_ID}-{'0' * 16}-01",
        f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01",
        f"00-{TRACE_ID}-00f067aa0ba902b7",
        "garbage",
    ],
)
def test_invalid_traceparent_is_ignored(value: str) -> None:
    assert correlation.trace_id(value) is None


def test_new_id_is_32_hex_and_unique() -> None:
    ids = {correlation.new_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(GENERATED.fullmatch(i) for i in ids)


def test_valid_incoming_id_is_echoed(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={HEADER: "abc-123"})
    assert response.headers[HEADER] == "abc-123"


def test_missing_id_is_generated(client: FlaskClient) -> None:
    first = client.get("/healthz").headers[HEADER]
    second = client.get("/healthz").headers[HEADER]
    assert GENERATED.fullmatch(first)
    assert first != second


@pytest.mark.parametrize(
    "value", ["a" * 129, "bad value", "evil\x1b[31m", "x\x00y", "{urn:uuid:1}", "é"]
)
def test_invalid_id_is_replaced_and_never_echoed(
    client: FlaskClient, log_records: Callable[[], list[dict[str, Any]]], value: str
) -> None:
    response = client.get("/healthz", headers={HEADER: value})
    echoed = response.headers[HEADER]
    assert response.status_code == 200
    assert GENERATED.fullmatch(echoed)
    assert value not in response.get_data(as_text=True)
    assert all(value not in str(record) for record in log_records())


def test_header_order_configured_then_request_id_then_traceparent(client: FlaskClient) -> None:
    all_three = {HEADER: "first", "X-Request-ID": "second", "traceparent": TRACEPARENT}
    assert client.get("/healthz", headers=all_three).headers[HEADER] == "first"
    no_configured = {"X-Request-ID": "second", "traceparent": TRACEPARENT}
    assert client.get("/healthz", headers=no_configured).headers[HEADER] == "second"
    only_trace = {"traceparent": TRACEPARENT}
    assert client.get("/healthz", headers=only_trace).headers[HEADER] == TRACE_ID


def test_an_invalid_header_falls_through_to_the_next(client: FlaskClient) -> None:
    headers = {HEADER: "not valid!", "X-Request-ID": "bad too!", "traceparent": TRACEPARENT}
    assert client.get("/healthz", headers=headers).headers[HEADER] == TRACE_ID


def test_id_is_echoed_on_404_and_405(client: FlaskClient) -> None:
    not_found = client.get("/no-such-route", headers={HEADER: "id-404"})
    assert not_found.status_code == 404
    assert not_found.headers[HEADER] == "id-404"
    assert not_found.json["correlation_id"] == "id-404"  # type: ignore[index]
    wrong_method = client.put("/healthz", headers={HEADER: "id-405"})
    assert wrong_method.status_code == 405
    assert wrong_method.headers[HEADER] == "id-405"


def test_id_is_echoed_on_500(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom", headers={HEADER: "id-500"})
    assert response.status_code == 500
    assert response.headers[HEADER] == "id-500"
    assert response.json == {  # no stack trace, no exception text
        "error": "internal_server_error",
        "message": "The server could not handle the request.",
        "correlation_id": "id-500",
    }


def test_a_view_cannot_send_a_second_id(app: Flask) -> None:
    @app.get("/forwarding")
    def forwarding() -> tuple[str, int, dict[str, str]]:
        return "ok", 200, {HEADER.lower(): "copied-from-elsewhere"}

    response = app.test_client().get("/forwarding", headers={HEADER: "mine"})
    assert response.headers.getlist(HEADER) == ["mine"]
