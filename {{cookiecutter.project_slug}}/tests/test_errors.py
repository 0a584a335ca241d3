"""Every error is JSON with the right status, never an HTML page or a stack trace."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

JSON = {"Content-Type": "application/json"}


def assert_json_error(response: object, status: int) -> None:
    assert response.status_code == status  # type: ignore[attr-defined]
    assert response.mimetype == "application/json"  # type: ignore[attr-defined]
    body = response.json  # type: ignore[attr-defined]
    # Validation errors say what is wrong with each field; no other error has fields.
    fields = {"fields"} if status == 422 else set()
    assert set(body) == {"error", "message", "correlation_id", *fields}
    assert "Traceback" not in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_unknown_route(client: FlaskClient) -> None:
    assert_json_error(client.get("/nowhere"), 404)


def test_wrong_method_keeps_allow(client: FlaskClient) -> None:
    response = client.delete("/items")
    assert_json_error(response, 405)
    assert "POST" in response.headers["Allow"]


def test_malformed_json(client: FlaskClient) -> None:
    assert_json_error(client.post("/auth/login", data="{not json", headers=JSON), 400)
    assert_json_error(client.post("/auth/login", data=b"\xff\xfe\x00", headers=JSON), 400)


def test_wrong_content_type(client: FlaskClient) -> None:
    assert_json_error(client.post("/auth/login", data="email=a"), 415)
    # Some integrations read any body as JSON; this service reads only declared JSON.
    text = {"Content-Type": "text/plain"}
    assert_json_error(client.post("/auth/login", data='{"email": "a"}', headers=text), 415)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert_json_error(client.post("/auth/login", data="email=a", headers=form), 415)


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null"])
def test_body_must_be_an_object(client: FlaskClient, body: str) -> None:
    assert_json_error(client.post("/auth/login", data=body, headers=JSON), 422)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "a@example.com"},
        {"email": 1, "password": "x"},
        {"email": ["a"], "password": {"b": 1}},
    ],
)
def test_missing_or_wrong_fields(client: FlaskClient, body: dict[str, object]) -> None:
    response = client.post("/auth/login", json=body)
    assert_json_error(response, 422)
    assert response.json is not None
    assert set(response.json["fields"]) <= {"email", "password"}


def test_validation_names_each_field(client: FlaskClient) -> None:
    response = client.post("/auth/login", json={"email": 1, "password": "p", "admin": True})
    assert_json_error(response, 422)
    assert response.json is not None
    fields = response.json["fields"]
    assert set(fields) == {"email", "admin"}
    assert fields["email"] == ["Input should be a valid string"]
    assert fields["admin"] == ["Extra inputs are not permitted"]


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deeply_nested_json(client: FlaskClient, depth: int) -> None:
    body = "[" * depth + "]" * depth
    assert_json_error(client.post("/auth/login", data=body, headers=JSON), 400)


def test_body_over_the_limit(app_factory: Callable[..., Flask]) -> None:
    client = app_factory(MAX_CONTENT_LENGTH=1024).test_client()
    big = '{"email": "' + "a" * 2048 + '"}'
    assert_json_error(client.post("/auth/login", data=big, headers=JSON), 413)


def test_default_body_limit_is_one_mebibyte(app: Flask) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_unexpected_errors_are_logged_not_shown(
    app_factory: Callable[..., Flask], log_records: Callable[[], list[dict[str, object]]]
) -> None:
    app = app_factory(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom() -> str:
        raise ValueError("internal detail 42")

    response = app.test_client().get("/boom")
    assert_json_error(response, 500)
    assert "internal detail 42" not in response.get_data(as_text=True)
    errors = [r for r in log_records() if r["level"] == "ERROR"]
    assert len(errors) == 1
    assert "internal detail 42" in str(errors[0]["exc_info"])
    assert errors[0]["correlation_id"] == response.json["correlation_id"]  # type: ignore[index]
