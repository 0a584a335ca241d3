"""Rate limits on logging in: per client address and per account.

Guessing passwords is slowed down however the attacker spreads the guesses: many accounts
from one address hit the per-client limit, one account from many addresses the per-account
limit. Both answer 429 JSON with Retry-After.
{%- if cookiecutter.session_store == "redis" %} The counters live in Redis, shared by every
instance (RATELIMIT_STORAGE_URI, default REDIS_URL).
{%- else %} The counters live in each worker's memory by default
(RATELIMIT_STORAGE_URI=memory://): with several workers an attacker gets that many times the
limit. To share them, add the `redis` package and point RATELIMIT_STORAGE_URI at a Redis.
{%- endif %}

Views opt in where they are defined, with `@login_limited`. Built on `limits`, the library
under Flask-Limiter, rather than on Flask-Limiter itself, whose hooks run on every request of
the app (`/healthz` included) to limit the one view that needs it.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from .config import ConfigError

_EXTENSION = "ratelimit"
View = TypeVar("View", bound=Callable[..., Any])
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoginLimits:
    limiter: FixedWindowRateLimiter
    per_client: RateLimitItem
    per_account: RateLimitItem


def account_key() -> str:
    """The e-mail the login is for, normalized; the body is parsed again by the view."""
    try:
        email = json.loads(request.get_data(cache=True)).get("email")
    except (ValueError, RecursionError, AttributeError):
        email = None
    return email.strip().lower() if isinstance(email, str) else ""


def check_login_attempt() -> None:
    """Count this attempt against both limits; 429 when either is used up."""
    limits: LoginLimits = current_app.extensions[_EXTENSION]
    for limit, scope, key in (
        (limits.per_client, "client", request.remote_addr or ""),
        (limits.per_account, "account", account_key()),
    ):
        try:
            if limits.limiter.hit(limit, scope, key):
                continue
            reset_at = limits.limiter.get_window_stats(limit, scope, key).reset_time
        except Exception as error:  # the counter store is down: logging in goes on unlimited
            log.warning("rate limit store failed", extra={"error_type": type(error).__name__})
            return
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests("Too many login attempts; try again later.", retry_after=retry_after)


def _limit(app: Flask, name: str) -> RateLimitItem:
    try:
        return parse(app.config[name])
    except ValueError:
        raise ConfigError(f"{name} must look like 5/minute, not {app.config[name]!r}") from None


def login_limited(view: View) -> View:
    """Count each call of `view` against the login limits; 429 when either is used up."""

    @functools.wraps(view)
    def check_then_call(*args: Any, **kwargs: Any) -> Any:
        check_login_attempt()
        return view(*args, **kwargs)

    return cast(View, check_then_call)


def init_app(app: Flask) -> None:
    uri = app.config["RATELIMIT_STORAGE_URI"]
    options: dict[str, Any] = {"key_prefix": app.config["RATELIMIT_KEY_PREFIX"]}
    if uri.startswith(("redis://", "rediss://")):
        # As for the session store: an outage must fail in well under a second.
        options |= {"socket_connect_timeout": 0.3, "socket_timeout": 0.3}
    storage = storage_from_string(uri, **options)
    app.extensions[_EXTENSION] = LoginLimits(
        limiter=FixedWindowRateLimiter(storage),
        per_client=_limit(app, "LOGIN_RATE_LIMIT_PER_CLIENT"),
        per_account=_limit(app, "LOGIN_RATE_LIMIT_PER_ACCOUNT"),
    )
