"""Failed logins are limited per client, per account and client, and per account: 429 JSON.
Successes never count, nobody can lock a user out from another address, raw input never
becomes a key, and the limiter fails closed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.core.ratelimit import account_key, client_key

from .helpers import PACKAGE, PASSWORD

Records = Callable[[], list[dict[str, Any]]]
GENEROUS = "1000/minute"


def attempt(client: FlaskClient, email: str, address: str, password: str = "wrong") -> int:
    response = client.post(
        "/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    if response.status_code == 429:
        assert response.json is not None and response.json["error"] == "too_many_requests"
        assert "Retry-After" in response.headers
    return int(response.status_code)


def limited(app_factory: Callable[..., Flask], **limits: str) -> FlaskClient:
    settings = {
        "LOGIN_RATE_LIMIT_PER_CLIENT": GENEROUS,
        "LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT": GENEROUS,
        "LOGIN_RATE_LIMIT_PER_ACCOUNT": GENEROUS,
        **limits,
    }
    return app_factory(**settings).test_client()


def test_one_client_trying_many_accounts(app_factory: Callable[..., Flask]) -> None:
    client = limited(app_factory, LOGIN_RATE_LIMIT_PER_CLIENT="3/minute")
    codes = [attempt(client, f"u{n}@example.com", "10.0.0.1") for n in range(4)]
    assert codes == [401, 401, 401, 429]
    assert attempt(client, "u9@example.com", "10.0.0.2") == 401  # another client is not limited


def test_an_attacker_cannot_lock_the_user_out_from_another_address(
    app_factory: Callable[..., Flask], user_email: str
) -> None:
    client = limited(app_factory, LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT="3/minute")
    codes = [attempt(client, user_email, "10.0.1.66") for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert attempt(client, user_email, "10.0.1.66", PASSWORD) == 429  # the attacker waits
    assert attempt(client, user_email, "10.0.1.7", PASSWORD) == 200  # the user does not


def test_one_account_from_many_clients_meets_the_ceiling(
    app_factory: Callable[..., Flask], user_email: str
) -> None:
    client = limited(app_factory, LOGIN_RATE_LIMIT_PER_ACCOUNT="3/minute")
    codes = [attempt(client, user_email.upper(), f"10.0.2.{n}") for n in range(4)]
    assert codes == [401, 401, 401, 429]
    # Past the ceiling even the right password waits: the limit protects the account.
    assert attempt(client, user_email, "10.0.2.9", PASSWORD) == 429
    assert attempt(client, "someone-else@example.com", "10.0.2.9") == 401


def test_successful_logins_never_count(app_factory: Callable[..., Flask], user_email: str) -> None:
    client = limited(
        app_factory,
        LOGIN_RATE_LIMIT_PER_CLIENT="2/minute",
        LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT="2/minute",
        LOGIN_RATE_LIMIT_PER_ACCOUNT="2/minute",
    )
    assert [attempt(client, user_email, "10.0.3.1", PASSWORD) for _ in range(6)] == [200] * 6


def test_a_parallel_burst_gets_no_more_guesses_than_the_limit(
    app_factory: Callable[..., Flask], user_email: str
) -> None:
    """Checking and counting were two steps: 8 to 10 parallel guesses got past a limit of 5."""
    app = app_factory(
        LOGIN_RATE_LIMIT_PER_CLIENT=GENEROUS,
        LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT="5/minute",
        LOGIN_RATE_LIMIT_PER_ACCOUNT=GENEROUS,
        PASSWORD_HASH_CONCURRENCY=12,  # every guess is checked at once
    )
    start = threading.Barrier(12)
    codes: list[int] = []

    def guess() -> None:
        client = app.test_client()
        start.wait()
        codes.append(attempt(client, user_email, "10.0.8.1"))

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [401] * 5 + [429] * 7


def test_the_owners_known_device_is_not_locked_out_by_others(
    app_factory: Callable[..., Flask], user_email: str
) -> None:
    """Failures from many addresses lock the account (the per-account ceiling), but not
    for a browser the owner has logged in from: OWASP's device cookies."""
    app = app_factory(
        LOGIN_RATE_LIMIT_PER_CLIENT=GENEROUS,
        LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT=GENEROUS,
        LOGIN_RATE_LIMIT_PER_ACCOUNT="3/hour",
    )
    owner = app.test_client()
    assert attempt(owner, user_email, "10.0.9.1", PASSWORD) == 200
    attackers = app.test_client()
    codes = [attempt(attackers, user_email, f"10.0.10.{n}") for n in range(4)]
    assert codes == [401, 401, 401, 429]
    # A new browser, even the owner's, waits; the known one does not, from any address.
    assert attempt(app.test_client(), user_email, "10.0.9.2", PASSWORD) == 429
    assert attempt(owner, user_email, "10.0.9.3", PASSWORD) == 200
    # A device cookie is the account's own: forged, or another account's, it is no key.
    cookie = owner.get_cookie(f"{PACKAGE}_device")
    assert cookie is not None
    for value in ("forged", cookie.value[:-2] + "xx"):
        stranger = app.test_client()
        stranger.set_cookie(f"{PACKAGE}_device", value)
        assert attempt(stranger, user_email, "10.0.9.4", PASSWORD) == 429
    other = app.test_client()
    other.set_cookie(f"{PACKAGE}_device", cookie.value)
    assert attempt(other, "someone-else@example.com", "10.0.9.5") == 401


def test_the_device_cookie_is_strict_and_lasts(
    app_factory: Callable[..., Flask], user_email: str
) -> None:
    app = app_factory(APP_ENV="production", SECRET_KEY="pD8-v3Kq_0sLr7WnZ2xYb4HcJ6tMfE9u1Ag5Ri")
    response = app.test_client().post(
        "/auth/login",
        json={"email": user_email, "password": PASSWORD},
        base_url="https://localhost",
    )
    (device,) = [c for c in response.headers.getlist("Set-Cookie") if "_device=" in c]
    assert device.startswith(f"__Host-{PACKAGE}_device=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=31536000"):
        assert attribute in device


def test_invalid_bodies_are_refused_before_anything_is_counted(
    app_factory: Callable[..., Flask], user_email: str
) -> None:
    client = limited(app_factory, LOGIN_RATE_LIMIT_PER_CLIENT="2/minute")
    huge = "a" * 500_000 + "@example.com"
    assert [attempt(client, huge, "10.0.4.1") for _ in range(5)] == [422] * 5
    assert attempt(client, user_email, "10.0.4.1", PASSWORD) == 200


def test_keys_have_a_bounded_size_and_hide_the_address() -> None:
    key = account_key("  Ada@Example.com ", "secret")
    assert key == account_key("ada@example.com", "secret")
    assert key != account_key("ada@example.com", "another secret")  # not reversible by a list
    assert len(key) == 32 and "ada" not in key
    assert len(account_key("a" * 500_000, "secret")) == 32
    assert client_key("10.0.0.1") == "10.0.0.1"
    # One machine usually holds a whole IPv6 /64: it counts as one client.
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert client_key("not an address, " + "x" * 10_000) == "unknown"


def test_failures_and_refusals_are_security_events(
    app_factory: Callable[..., Flask], log_records: Records
) -> None:
    app = app_factory(LOGIN_RATE_LIMIT_PER_CLIENT="1/minute")
    client = app.test_client()
    attempt(client, "Mallory@example.com", "10.0.5.1", "a-guess")
    attempt(client, "mallory@example.com", "10.0.5.1", "another-guess")
    events = [r for r in log_records() if r.get("event")]
    assert [r["event"] for r in events] == ["login_failed", "login_refused"]
    for record in events:
        assert record["level"] == "WARNING"
        assert record["account"] == account_key("mallory@example.com", app.config["SECRET_KEY"])
        assert "mallory" not in str(record).lower() and "guess" not in str(record)
