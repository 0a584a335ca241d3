"""Authentication: flask-login wired to the database, and the JSON endpoints under /auth."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar, cast

import flask_login
from apiflask import APIBlueprint
from flask import Flask, abort, current_app, request, session
from flask_login import (
    LoginManager,
    current_user,
    login_user,
    logout_user,
    user_logged_in,
    user_logged_out,
)

from .context import current_context
from .core import csrf
from .core.api import SIGNED_IN, json_body
from .core.context import SESSION_USER_KEY
from .core.credentials import add_check
from .core.db import MAX_ID, get_db
from .core.ratelimit import login_guard
from .core.tokens import refuse_token_requests
from .models import User
from .schemas import LoginIn, LoginOut, MeOut, UserOut
from .users import authenticate

REMEMBER_COOKIE = "{{ cookiecutter.package_name }}_remember"
# In production browsers accept a __Host- cookie only from this host itself: no sibling
# domain can plant one (and so have every request of a user refused).
HOST_ONLY = "__Host-"

login_manager = LoginManager()
log = logging.getLogger(__name__)
bp = APIBlueprint("auth", __name__, url_prefix="/auth")
View = TypeVar("View", bound=Callable[..., Any])


def login_required(view: View) -> View:
    """flask-login's decorator, typed: answers 401 JSON to anonymous requests."""
    return cast(View, flask_login.login_required(view))


def load_user(user_id: str) -> User | None:
    """flask-login's loader: `None` for unknown or malformed ids, never an exception."""
    user = None
    if user_id.isascii() and user_id.isdecimal() and 0 < int(user_id) <= MAX_ID:
        user = get_db().get(User, int(user_id))
    current_context.identify(user.get_id() if user is not None else None)
    return user


def identify_logged_in(_app: Flask, user: User, **_extra: Any) -> None:
    session[SESSION_USER_KEY] = user.get_id()
    current_context.identify(user.get_id())


def identify_logged_out(_app: Flask, **_extra: Any) -> None:
    session.pop(SESSION_USER_KEY, None)
    current_context.identify(None)


def unauthorized() -> NoReturn:
    abort(401, description="Log in first.")


def refuse_remember_cookie() -> None:
    """This service issues no remember-me cookie, so one that arrives is forged.

    flask-login would try to verify it whenever the session holds no user (and its check
    raises on non-ASCII values): a clear 400 instead. A remember cookie could not be revoked
    short of rotating SECRET_KEY; the server-side session can.
    """
    if "HTTP_COOKIE" not in request.environ:  # most calls between services: nothing to parse
        return
    name = current_app.config["REMEMBER_COOKIE_NAME"]
    if name in request.cookies:
        log.warning("forged remember cookie", extra={"event": "forged_remember_cookie"})
        abort(400, description=f"This service issues no {name} cookie; drop it.")


@bp.post("/login")
@csrf.exempt  # there is no session to ride on yet
@json_body(bp, LoginIn)
@bp.output(LoginOut)
@bp.doc(responses=[401, 403, 429])
def login(body: LoginIn) -> LoginOut:
    """Log in: sets the session cookie and returns the CSRF token"""
    refuse_token_requests()
    # Counted only once the body is valid, under a hash of the e-mail: no raw input is a key.
    guard = login_guard()
    guard.check(body.email)
    user = authenticate(body.email, body.password)
    if user is None:
        guard.failed(body.email)
        abort(401, description="Unknown e-mail or wrong password.")
    guard.succeeded(body.email)
    # Nothing from before the login survives it (a previous user's CSRF token included),
    # and the session id is new: an id planted before login (fixation) is useless.
    session.clear()
    login_user(user)
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]
    return LoginOut(user=UserOut.model_validate(user), csrf_token=csrf.new_token())


@bp.get("/me")
@login_required
@bp.output(MeOut)
@bp.doc(security=SIGNED_IN)
def me() -> MeOut:
    """The logged-in user"""
    return MeOut(user=UserOut.model_validate(current_user))


@bp.post("/logout")
@bp.output({}, status_code=204)
@bp.doc(security=[{}, {"session": [], "csrf": []}], responses=[403])
def logout() -> tuple[str, int]:
    """Log out: the session is deleted"""
    refuse_token_requests()
    logout_user()
    # An empty, modified session is deleted from the store: the old cookie is now worthless.
    session.clear()
    return "", 204


def init_app(app: Flask) -> None:
    """Reads APP_ENV (production cookies are __Host- prefixed)."""
    prefix = HOST_ONLY if app.config["APP_ENV"] == "production" else ""
    app.config.setdefault("REMEMBER_COOKIE_NAME", prefix + REMEMBER_COOKIE)
    login_manager.init_app(app, add_context_processor=False)
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    # "basic"/"strong" hash the client address from X-Forwarded-For, which any client can
    # set; the session is server-side, regenerated at login and deleted at logout instead.
    login_manager.session_protection = None
    user_logged_in.connect(identify_logged_in, app)
    user_logged_out.connect(identify_logged_out, app)
    add_check(app, refuse_remember_cookie)
    app.register_blueprint(bp)
