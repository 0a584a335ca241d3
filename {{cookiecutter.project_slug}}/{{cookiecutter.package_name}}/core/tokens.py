"""API tokens for machine callers: what a token looks like, how it is stored, how a request
presents it, and what a request that presents one may not do.

A token is `{{ cookiecutter.package_name }}_` and 43 random URL-safe characters (256 bits).
Only its SHA-256 is stored: a fast hash is enough for a secret nobody can guess, while a
password hash (Argon2) on every request would hand any client a way to burn the service's
CPU. The prefix lets people and secret scanners recognise a leaked token.

A request with `Authorization: Bearer ...` is a token request from start to finish: the
session store is never opened for it (core/sessions.py), so it needs no CSRF token and gets
no cookie, and a view that needs a session refuses it (`refuse_token_requests`: 403). A
token that is malformed, unknown, expired or revoked is a 401 on every endpoint, public ones
included, so a caller learns at once that its token is dead. Which user a token belongs to
is the application's business (`api_tokens.py`, through flask-login's request loader, which
also registers `refuse_dead_tokens`); this module only asks flask-login whether it found
one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, Response, abort, make_response, request
from flask_login import current_user
from werkzeug.exceptions import Unauthorized

from .config import API_TOKEN
from .context import ENVIRON_AUTH, ENVIRON_TOKEN_NAME, ENVIRON_USER
from .errors import handle_http_error
from .ratelimit import count_write

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = [
    "LIFETIME_PATTERN",
    "NAME_MAX_LENGTH",
    "init_app",
    "is_token_request",
    "lifetime",
    "mark_token_request",
    "new_token",
    "presented_token",
    "refuse_dead_tokens",
    "refuse_token_requests",
    "token_digest",
]

PREFIX = "{{ cookiecutter.package_name }}_"
NAME_MAX_LENGTH = 100
# How long a new token lives: 90d, 12h, 30m, or never (the API and the command alike).
LIFETIME_PATTERN = r"^([1-9][0-9]{0,4}[dhm]|never)$"
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def lifetime(value: str) -> timedelta | None:
    """A LIFETIME_PATTERN value as a duration (None: never expires)."""
    if not re.fullmatch(LIFETIME_PATTERN, value):
        raise ValueError("use 90d, 12h, 30m or never")
    return None if value == "never" else timedelta(**{_UNITS[value[-1]]: int(value[:-1])})


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_token_request(environ: Mapping[str, Any]) -> bool:
    """Whether the request presents a token (well-formed or not): `Authorization: Bearer`."""
    scheme: str = environ.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0]
    return scheme.lower() == "bearer"


def presented_token(environ: Mapping[str, Any]) -> str | None:
    """The token of the request's `Authorization: Bearer` header, if it is well-formed."""
    if not is_token_request(environ):
        return None
    token = environ["HTTP_AUTHORIZATION"].split(" ", 1)[-1].strip()
    return token if API_TOKEN.fullmatch(token) else None


def mark_token_request(user_id: str, token_name: str) -> None:
    """Record who the token authenticated, for log lines and the server's access line; a
    write counts against the token's write limit (core/ratelimit.py)."""
    count_write("token", user_id, token_name)
    request.environ[ENVIRON_USER] = user_id
    request.environ[ENVIRON_AUTH] = "token"
    request.environ[ENVIRON_TOKEN_NAME] = token_name


def refuse_token_requests() -> None:
    """A view that needs a session (logging in or out, making or revoking tokens) refuses a
    token request: a 403, whatever the token. A leaked token thus cannot log in, or mint
    another token that outlives its revocation."""
    if is_token_request(request.environ):
        abort(403, description="This needs a session: a request with an API token may not.")


def refuse_dead_tokens() -> None:
    """A token request whose token flask-login's request loader did not accept stops here."""
    if is_token_request(request.environ) and not current_user.is_authenticated:
        abort(401, description="The token is malformed, unknown, expired or revoked.")


def bearer_challenge(error: Unauthorized) -> Response:
    """A 401 is answered as every HTTP error is (core/errors.py); to a token request it also
    names the scheme that failed (RFC 6750). An error handler rather than an after_request
    hook: it runs for the 401s only, not on every response."""
    response = make_response(handle_http_error(error))
    if is_token_request(request.environ):
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(Unauthorized, bearer_challenge)
