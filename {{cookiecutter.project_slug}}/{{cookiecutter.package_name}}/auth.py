"""Authentication: flask-login wired to the database, and the JSON endpoints under /auth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar, cast

import flask_login
from flask import Blueprint, Flask, abort, current_app, session
from flask_login import LoginManager, current_user, login_user, logout_user

from . import payload
from .csrf import csrf, new_token
from .db import get_db
from .models import EMAIL_MAX_LENGTH, User
from .users import authenticate

PASSWORD_MAX_LENGTH = 1024
# Primary keys of the shipped schema are 32-bit; larger ids are not worth a query.
_MAX_ID = 2**31 - 1


class SessionOnlyLoginManager(LoginManager):  # type: ignore[misc]
    """flask-login without remember-me cookies, which this service never issues.

    A remember cookie cannot be revoked short of rotating SECRET_KEY, and flask-login's
    decoder raises (a 500) on a forged non-ASCII one: such a cookie is simply ignored.
    """

    def init_app(self, app: Flask, add_context_processor: bool = False) -> None:
        # flask-login's own init_app adds an after_request hook, run for every request, that
        # only maintains remember cookies (and a template context processor: no templates).
        app.login_manager = self  # type: ignore[attr-defined]

    def _load_user_from_remember_cookie(self, _cookie: str) -> None:
        return None


login_manager = SessionOnlyLoginManager()
bp = Blueprint("auth", __name__, url_prefix="/auth")
View = TypeVar("View", bound=Callable[..., Any])


def login_required(view: View) -> View:
    """flask-login's decorator, typed: answers 401 JSON to anonymous requests."""
    return cast(View, flask_login.login_required(view))


def load_user(user_id: str) -> User | None:
    """flask-login's loader: `None` for unknown or malformed ids, never an exception."""
    if not (user_id.isascii() and user_id.isdecimal()) or not 0 < int(user_id) <= _MAX_ID:
        return None
    return get_db().get(User, int(user_id))


def unauthorized() -> NoReturn:
    abort(401, description="Log in first.")


@bp.post("/login")
def login() -> dict[str, Any]:
    data = payload.json_object()
    email = payload.text_field(data, "email", max_length=EMAIL_MAX_LENGTH)
    password = payload.text_field(data, "password", max_length=PASSWORD_MAX_LENGTH)
    user = authenticate(email, password)
    if user is None:
        abort(401, description="Unknown e-mail or wrong password.")
    # Nothing from before the login survives it (a previous user's CSRF token included),
    # and the session id is new: an id planted before login (fixation) is useless.
    session.clear()
    login_user(user)
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]
    return {"user": user.to_dict(), "csrf_token": new_token()}


@bp.get("/me")
@login_required
def me() -> dict[str, Any]:
    return {"user": current_user.to_dict()}


@bp.post("/logout")
def logout() -> tuple[str, int]:
    logout_user()
    # An empty, modified session is deleted from the store: the old cookie is now worthless.
    session.clear()
    return "", 204


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    # Logging in needs no token: there is no session to ride on yet.
    csrf.exempt(login)
    # "basic"/"strong" hash the client address from X-Forwarded-For, which any client can
    # set; the session is server-side, regenerated at login and deleted at logout instead.
    login_manager.session_protection = None
    app.register_blueprint(bp)
