"""Login attempts are limited per client address and per account: 429 JSON."""

from __future__ import annotations

from collections.abc import Callable
{%- if cookiecutter.session_store == "redis" %}
from typing import Any
{%- endif %}

from flask import Flask

from {{ cookiecutter.package_name }}.core.ratelimit import login_limited

from .helpers import PASSWORD{% if cookiecutter.session_store == "redis" %}, UNREACHABLE_REDIS_URL{% endif %}
{%- if cookiecutter.session_store == "redis" %}

Records = Callable[[], list[dict[str, Any]]]
{%- endif %}


def attempt(client: object, email: str, address: str, password: str = "wrong") -> int:
    response = client.post(  # type: ignore[attr-defined]
        "/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    if response.status_code == 429:
        assert response.json["error"] == "too_many_requests"
        assert "Retry-After" in response.headers
    return int(response.status_code)


def test_any_view_can_be_limited_where_it_is_defined(
    app_factory: Callable[..., Flask],
) -> None:
    app = app_factory(LOGIN_RATE_LIMIT_PER_CLIENT="2/minute")

    @app.post("/auth/reset-password")
    @login_limited
    def reset_password() -> dict[str, str]:
        return {"status": "sent"}

    client = app.test_client()
    codes = [client.post("/auth/reset-password", json={}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_one_client_trying_many_accounts(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(
        LOGIN_RATE_LIMIT_PER_CLIENT="3/minute", LOGIN_RATE_LIMIT_PER_ACCOUNT="100/minute"
    )
    client = app.test_client()
    codes = [attempt(client, f"u{n}@example.com", "10.0.0.1") for n in range(4)]
    assert codes == [401, 401, 401, 429]
    assert attempt(client, "u9@example.com", "10.0.0.2") == 401  # another client is not limited


def test_one_account_from_many_clients(app_factory: Callable[..., Flask], user_email: str) -> None:
    app = app_factory(
        LOGIN_RATE_LIMIT_PER_CLIENT="100/minute", LOGIN_RATE_LIMIT_PER_ACCOUNT="2/minute"
    )
    client = app.test_client()
    codes = [attempt(client, user_email.upper(), f"10.0.1.{n}") for n in range(3)]
    assert codes == [401, 401, 429]
    # Even the right password waits: the limit protects the account, not the guess.
    assert attempt(client, user_email, "10.0.1.9", PASSWORD) == 429
    assert attempt(client, "someone-else@example.com", "10.0.1.9") == 401
{%- if cookiecutter.session_store == "redis" %}


def test_a_counter_store_outage_lets_logins_through(
    app_factory: Callable[..., Flask], user_email: str, log_records: Records
) -> None:
    app = app_factory(RATELIMIT_STORAGE_URI=UNREACHABLE_REDIS_URL)
    assert attempt(app.test_client(), user_email, "10.0.2.1") == 401
    assert attempt(app.test_client(), user_email, "10.0.2.1", PASSWORD) == 200
    assert "rate limit store failed" in {r["message"] for r in log_records()}
{%- endif %}
