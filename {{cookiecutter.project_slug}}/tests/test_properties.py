"""Hostile input, generated: whatever arrives, the answer is never a 5xx, an invalid value is
never echoed, and every log line stays one valid JSON object without raw control characters.
Bounded and derandomized, so the run is quick and repeatable."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.core import correlation

from .helpers import HEADER, PASSWORD, login

GENERATED = re.compile(r"[0-9a-f]{32}")
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
CSRF_MESSAGES = {"The CSRF token is missing.", "The CSRF token is invalid."}
LOGIN_MESSAGES = {
    "Unknown e-mail or wrong password.",
    "The request is invalid: `fields` says what is wrong with each field.",
}
bounded = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# What can travel in an HTTP header: bytes 0-255 except the line breaks that end it.
header_text = st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=300)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["email", "password", "name", "x"]) | st.text(max_size=10),
            children,
            max_size=5,
        )
    ),
    max_leaves=15,
)


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    # Hundreds of logins and writes in a few seconds: the limits are tested in
    # test_ratelimit.py and test_tokens.py.
    return app_factory(
        LOGIN_RATE_LIMIT_PER_CLIENT="100000/minute",
        LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT="100000/minute",
        LOGIN_RATE_LIMIT_PER_ACCOUNT="100000/minute",
        WRITE_RATE_LIMIT_PER_CALLER="100000/minute",
    )


def assert_clean_logs(log_output: io.StringIO) -> None:
    for line in log_output.getvalue().splitlines():
        json.loads(line)
        assert not RAW_CONTROL.search(line), line


@bounded
@given(value=header_text)
def test_any_correlation_headers(app: Flask, log_output: io.StringIO, value: str) -> None:
    response = app.test_client().get(
        "/healthz", headers={HEADER: value, "X-Request-ID": value, "traceparent": value}
    )
    assert response.status_code == 200
    echoed = response.headers[HEADER]
    expected = value if correlation.is_valid(value) else correlation.trace_id(value)
    assert echoed == expected or (expected is None and GENERATED.fullmatch(echoed))
    assert_clean_logs(log_output)


@bounded
@given(body=json_values)
def test_any_json_body(app: Flask, user_email: str, log_output: io.StringIO, body: Any) -> None:
    client = app.test_client()
    assert client.post("/auth/login", json=body).status_code < 500
    token = login(client, user_email)
    response = client.post("/items", json=body, headers={"X-CSRF-Token": token})
    assert response.status_code in {201, 400, 415, 422}  # json=None sends no body: 415
    assert_clean_logs(log_output)


@bounded
@given(
    raw=st.binary(max_size=2000),
    content_type=st.sampled_from(
        [
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/json; charset=latin-1",
        ]
    ),
)
def test_any_raw_body(
    client: FlaskClient, log_output: io.StringIO, raw: bytes, content_type: str
) -> None:
    response = client.post("/auth/login", data=raw, headers={"Content-Type": content_type})
    assert response.status_code in {400, 401, 415, 422, 429}
    assert_clean_logs(log_output)


@bounded
@given(query=header_text, segment=st.text(max_size=50))
def test_any_query_or_path(
    client: FlaskClient, log_output: io.StringIO, query: str, segment: str
) -> None:
    assert client.get("/items", query_string={"q": query, "page": query}).status_code == 200
    assert client.get("/items/" + segment.replace("/", "")).status_code in {200, 404}
    assert_clean_logs(log_output)


# Parameter names no operation declares, url_for's own keyword arguments among them.
undeclared_names = st.sampled_from(
    ["_scheme", "_external", "_anchor", "_method", "endpoint", "values", "limit", "cursor"]
) | st.text(st.characters(max_codepoint=255), min_size=1, max_size=20)


@bounded
@given(
    parameters=st.lists(st.tuples(undeclared_names, header_text), max_size=6),
    path=st.sampled_from(["/items", "/auth/tokens", "/items/1", "/auth/me", "/healthz"]),
)
def test_any_query_parameters_on_any_listing(
    app: Flask, user_email: str, log_output: io.StringIO, parameters: Any, path: str
) -> None:
    """The document does not declare these names: they are ignored (a declared one with a
    bad value is refused), never a 5xx, never copied into a header."""
    client = app.test_client()
    token = login(client, user_email)
    for n in range(2):
        client.post("/items", json={"name": f"item {n}"}, headers={"X-CSRF-Token": token})
    response = client.get(path, query_string=[*parameters, ("limit", "1")])
    assert response.status_code in {200, 400, 404, 422}, response.json
    assert len(response.headers.get("Link", "")) < 300
    assert_clean_logs(log_output)


@bounded
@given(cookie=header_text, token=header_text)
def test_any_session_cookie_or_csrf_token(
    app: Flask, user_email: str, log_output: io.StringIO, cookie: str, token: str
) -> None:
    client = app.test_client()
    client.set_cookie("{{ cookiecutter.package_name }}_session", cookie)
    assert client.get("/auth/me").status_code == 401
    login(client, user_email)
    response = client.post("/items", json={"name": "x"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 403
    assert response.json is not None
    assert response.json["message"] in CSRF_MESSAGES  # fixed texts: nothing is echoed
    assert_clean_logs(log_output)


@bounded
@given(email=st.text(max_size=300), password=st.text(max_size=300))
def test_any_login_fields(
    client: FlaskClient, log_output: io.StringIO, email: str, password: str
) -> None:
    response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code in {401, 422, 429}
    assert response.json is not None
    # Fixed texts that name the fields at most: neither value is ever echoed.
    assert response.json["message"] in LOGIN_MESSAGES
    assert set(response.json.get("fields") or {}) <= {"email", "password"}
    for secret in (email, password):
        if len(secret) > 3:
            assert secret not in response.get_data(as_text=True)
    assert_clean_logs(log_output)


def test_the_right_password_still_works_after_all_that(
    client: FlaskClient, user_email: str
) -> None:
    assert (
        client.post("/auth/login", json={"email": user_email, "password": PASSWORD}).status_code
        == 200
    )
