"""The rules every body follows (core/api.py), and what the document says of every operation."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.core.api import TEXT_PATTERN
from {{ cookiecutter.package_name }}.core.payload import text_problem

from .helpers import HEADER, create_item, logged_in_client

# Lone surrogates cannot reach a text rule: Pydantic refuses them as strings first.
text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20)


@settings(max_examples=500, deadline=None)
@given(value=text)
def test_the_documented_pattern_is_the_rule(value: str) -> None:
    documented = re.fullmatch(TEXT_PATTERN, value) is not None
    assert documented == (text_problem(value, max_length=100) is None)


def test_every_operation_documents_errors_and_the_id(client: FlaskClient) -> None:
    document = client.get("/openapi.json").json
    assert document is not None
    error = {"$ref": "#/components/schemas/HTTPError"}
    assert set(document["components"]["schemas"]["HTTPError"]["required"]) == {
        "error",
        "message",
        "correlation_id",
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert responses["default"]["content"]["application/json"]["schema"] == error
            for status, response in responses.items():
                assert HEADER in response["headers"], (method, path, status)
            if "requestBody" in operation:
                assert operation["requestBody"]["required"] is True
                assert {"400", "413", "415", "422"} <= set(responses), (method, path)
            # What the infrastructure answers is documented centrally, for every operation.
            assert {"400", "503"} <= set(responses), (method, path)
            if method != "get":
                assert "413" in responses, (method, path)
            security = operation.get("security") or []
            if security and {} not in security:
                assert "401" in responses, (method, path)
            if any("csrf" in requirement for requirement in security):
                assert "403" in responses, (method, path)


def test_the_document_names_no_host(client: FlaskClient) -> None:
    # It is cached after the first request: it must not keep that request's Host header.
    document = client.get("/openapi.json", headers={"Host": "attacker.example"}).json
    assert document is not None and "servers" not in document
    assert "attacker" not in client.get("/openapi.json").get_data(as_text=True)


def test_unknown_query_parameters_are_ignored(client: FlaskClient) -> None:
    # Caches and browsers add their own (`?_=1700000000`).
    assert client.get("/items?_=1700000000&limit=5").status_code == 200


def test_validation_errors_carry_the_correlation_id(client: FlaskClient) -> None:
    response = client.post("/auth/login", json={"email": 1}, headers={HEADER: "why-422"})
    assert response.status_code == 422
    assert response.json is not None and response.json["correlation_id"] == "why-422"
    assert response.headers[HEADER] == "why-422"


def test_signed_in_only_fields_follow_the_caller(app: Flask) -> None:
    client, token = logged_in_client(app)
    item: dict[str, Any] = create_item(client, token)
    hidden = app.test_client().get(f"/items/{item['id']}").json
    assert hidden is not None
    assert {name for name, value in item.items() if hidden[name] != value} == {
        "created_by",
        "correlation_id",
    }
    assert hidden["created_by"] is None and hidden["correlation_id"] is None
    # Keys in the order the model declares them, as the document lists them.
    assert list(hidden) == ["id", "name", "created_at", "created_by", "correlation_id"]
