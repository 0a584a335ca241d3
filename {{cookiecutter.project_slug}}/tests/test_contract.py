"""The OpenAPI document is a contract, tested as one.

The document must be valid OpenAPI 3.1, and the app must keep it: schemathesis generates
requests for every operation from the document itself (valid ones and broken ones), sends
them to the app in-process as a logged-in user with the CSRF token (or with an API token,
where a case sends one), and checks every
response against the document: no 5xx, only documented status codes, bodies and headers
that match their schemas. Bounded and derandomized, so a run is quick and repeatable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from {{ cookiecutter.package_name }}.core.idempotency import HEADER as IDEMPOTENCY_KEY

from .helpers import (
    CSRF_HEADER,
    SESSION_COOKIE,
    bearer,
    create_api_token,
    create_item,
    create_test_user,
    login,
)

# Requests a document allows can still fail for reasons it cannot express: a cursor that
# this service did not issue is well-formed text, and a 400.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409"]
            }
        }
    }
)
UNLIMITED = "1000000/minute"
EXPECTED_OPERATIONS = {
    "POST /auth/login",
    "GET /auth/me",
    "POST /auth/logout",
    "GET /items",
    "POST /items",
    "GET /items/{item_id}",
    "PATCH /items/{item_id}",
    "DELETE /items/{item_id}",
    "GET /downstream",
    "GET /auth/tokens",
    "POST /auth/tokens",
    "DELETE /auth/tokens/{token_id}",
}
bounded = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def contract_app(app_factory: Callable[..., Flask]) -> Flask:
    # Generated logins fail by the hundred, and writes come by the thousand: the limits
    # would soon refuse them all.
    return app_factory(
        LOGIN_RATE_LIMIT_PER_CLIENT=UNLIMITED,
        LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT=UNLIMITED,
        LOGIN_RATE_LIMIT_PER_ACCOUNT=UNLIMITED,
        WRITE_RATE_LIMIT_PER_CALLER=UNLIMITED,
        MAX_API_TOKENS_PER_USER=10_000,
    )


@pytest.fixture
def api(contract_app: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/openapi.json", contract_app, config=CONFIG)


def test_the_document_is_valid_openapi_3_1(client: Any) -> None:
    document = client.get("/openapi.json").json
    assert document["openapi"].startswith("3.1.")
    validate(document)
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"session", "csrf", "token"}
    assert schemes["token"] == {**schemes["token"], "type": "http", "scheme": "bearer"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_app_keeps_its_document(api: Any, contract_app: Flask, mode: GenerationMode) -> None:
    operations = [result.ok() for result in api.get_all_operations()]
    assert {operation.label for operation in operations} >= EXPECTED_OPERATIONS
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not (
            operation.body or operation.query or operation.path_parameters
        ):
            continue  # nothing to break
        # One login per operation: an example of it may log out (later ones then run
        # anonymous, and must still keep the document) or delete the item.
        client = contract_app.test_client()
        email = create_test_user(contract_app)
        token = login(client, email)
        create_item(client, token)
        cookie = client.get_cookie(SESSION_COOKIE)
        assert cookie is not None
        credentials = Credentials(cookie.value, token, create_api_token(contract_app, email))
        check_operation(operation, mode, credentials)


@dataclass(frozen=True)
class Credentials:
    session: str
    csrf_token: str
    api_token: str


def check_operation(operation: Any, mode: GenerationMode, credentials: Credentials) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @bounded
    def check(case: Any) -> None:
        # The real credentials replace the generated ones, where the case has any: a case
        # that leaves them out (to see it refused) is sent without.
        sent_cookies, sent_headers = case.cookies or {}, case.headers or {}
        cookies = {SESSION_COOKIE: credentials.session} if SESSION_COOKIE in sent_cookies else {}
        headers = {}
        if CSRF_HEADER in sent_headers:
            headers[CSRF_HEADER] = credentials.csrf_token
        if "Authorization" in sent_headers:
            headers.update(bearer(credentials.api_token))
        if mode is GenerationMode.POSITIVE and IDEMPOTENCY_KEY in sent_headers:
            # A key the caller used before with another body is rightly a 422: fresh ones.
            headers[IDEMPOTENCY_KEY] = uuid.uuid4().hex
        case.call_and_validate(cookies=cookies, headers=headers)

    check()
