"""Rate limits on logging in: per client address and per account (Flask-Limiter).

Guessing passwords is slowed down however the attacker spreads the guesses: many accounts
from one address hit the per-client limit, one account from many addresses the per-account
limit. Both answer 429 JSON with Retry-After.
{%- if cookiecutter.session_store == "redis" %} The counters live in Redis, shared by every
instance (RATELIMIT_STORAGE_URI, default REDIS_URL).
{%- else %} The counters live in each worker's memory by default
(RATELIMIT_STORAGE_URI=memory://): with several workers an attacker gets that many times the
limit. Point RATELIMIT_STORAGE_URI at a Redis (redis://...) to share them.
{%- endif %}
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

_EXTENSION = "ratelimit"


def per_client() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT_PER_CLIENT"])


def per_account() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"])


def account_key() -> str:
    """The e-mail the login is for, normalized; the body is parsed again by the view."""
    try:
        email = json.loads(request.get_data(cache=True)).get("email")
    except (ValueError, RecursionError, AttributeError):
        email = None
    return "account:" + (email.strip().lower() if isinstance(email, str) else "")


def init_app(app: Flask) -> None:
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        key_prefix=app.config["RATELIMIT_KEY_PREFIX"],
        headers_enabled=True,
        # If the counter store is down, logging in goes on without limits rather than failing.
        swallow_errors=True,
    )
    app.extensions[_EXTENSION] = limiter
    # Wrapped here rather than decorated in auth.py: the limiter belongs to this app.
    view: Any = app.view_functions["auth.login"]
    for limit in (limiter.limit(per_client), limiter.limit(per_account, key_func=account_key)):
        view = limit(view)
    app.view_functions["auth.login"] = view
