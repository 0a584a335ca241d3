"""CSRF protection for requests that a browser could be tricked into sending.

Only a request authenticated by the session cookie can be forged cross-site, so only those
must carry the token (in the X-CSRF-Token header) that `POST /auth/login` returned.
Anonymous requests go on to get their 401 from the view.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf

from .context import session_user_id
from .errors import error_response

csrf = CSRFProtect()
# The methods that must carry the token (WTF_CSRF_METHODS is set from this).
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def protect_session_requests() -> None:
    """Flask-WTF's check, for unsafe requests whose session holds a logged-in user."""
    if request.method in UNSAFE_METHODS and session_user_id() is not None:
        csrf.protect(apply_exemptions=True)


def handle_csrf_error(error: CSRFError) -> Response:
    return error_response(403, "csrf_failed", error.description or "CSRF validation failed.")


def new_token() -> str:
    return str(generate_csrf())


def init_app(app: Flask) -> None:
    # CSRFProtect.init_app is not called: it adds a before_request hook of its own, run for
    # every request, where this service needs one that returns at once for read-only and
    # anonymous requests (protect_session_requests). The settings it would default to, the
    # ones protect() reads, are set here instead.
    app.config.update(
        WTF_CSRF_METHODS=set(UNSAFE_METHODS),
        WTF_CSRF_FIELD_NAME="csrf_token",
        WTF_CSRF_HEADERS=["X-CSRF-Token"],
        # Valid for the life of the session, which is renewed at every login.
        WTF_CSRF_TIME_LIMIT=None,
        # The token is the defence; API clients over HTTPS often send no Referer.
        WTF_CSRF_SSL_STRICT=False,
    )
    app.extensions["csrf"] = csrf
    app.before_request(protect_session_requests)
    app.register_error_handler(CSRFError, handle_csrf_error)
