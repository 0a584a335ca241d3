"""CSRF protection for requests that a browser could be tricked into sending.

Only a request authenticated by the session cookie can be forged cross-site, so only those
must carry the token (in the X-CSRF-Token header) that `POST /auth/login` returned.
Anonymous requests go on to get their 401 from the view.

Flask-WTF's own check runs on every request; with `WTF_CSRF_CHECK_DEFAULT = False` (as its
documentation describes) it is left to `protect_session_requests`, which calls
`csrf.protect()` only for session-authenticated requests. Flask-WTF's other settings
(`WTF_CSRF_ENABLED`, `WTF_CSRF_METHODS`...) keep their documented meaning, and views opt out
with `@csrf.exempt`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, request
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf

from .context import session_user_id
from .credentials import add_check
from .errors import error_response
from .ratelimit import count_write
from .tokens import is_token_request

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["exempt", "init_app", "new_token"]

csrf = CSRFProtect()
log = logging.getLogger(__name__)
CSRF_HEADER = "X-CSRF-Token"
View = TypeVar("View", bound=Callable[..., Any])


def protect_session_requests() -> None:
    """Flask-WTF's check, for requests whose session holds a logged-in user (never for a
    token request: its session is not even opened, see core/tokens.py); a write that passes
    it counts against the user's write limit (core/ratelimit.py)."""
    if is_token_request(request.environ):
        return
    user_id = session_user_id()
    if user_id is None:
        return
    if current_app.config["WTF_CSRF_ENABLED"]:
        csrf.protect(apply_exemptions=True)
    count_write("user", str(user_id))


def exempt(view: View) -> View:
    """Flask-WTF's `csrf.exempt`, typed: for views that need no token."""
    return cast(View, csrf.exempt(view))


def handle_csrf_error(error: CSRFError) -> Response:
    log.warning("csrf check failed", extra={"event": "csrf_failed", "reason": error.description})
    return error_response(403, "csrf_failed", error.description or "CSRF validation failed.")


def new_token() -> str:
    return str(generate_csrf())


def init_app(app: Flask) -> None:
    # Defaults only: a deployment (or a test) may still set any of them.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_HEADERS", [CSRF_HEADER])
    # Valid for the life of the session, which is renewed at every login.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    # The token is the defence; API clients over HTTPS often send no Referer.
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    csrf.init_app(app)
    add_check(app, protect_session_requests)
    app.register_error_handler(CSRFError, handle_csrf_error)
