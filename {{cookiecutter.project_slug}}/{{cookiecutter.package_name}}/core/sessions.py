"""Server-side sessions with Flask-Session: the cookie holds only a random session id.

Where the sessions are kept is `core/session_store.py` (the template renders the one chosen:
files on this machine, or Redis); this module adds what the service needs whatever the
store: no session for probes and token requests, a 503 when the store is down, the user on
every log line, and cookies deleted the way they were set.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SessionMixin

from . import session_store as store
from . import upkeep
from .config import PROBE_PATHS
from .context import ENVIRON_AUTH, ENVIRON_USER, SESSION_USER_KEY
from .credentials import add_check
from .errors import register_unavailable
from .tokens import is_token_request

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["init_app"]

# Where open_session leaves a store failure for refuse_without_session.
ENVIRON_STORE_ERROR = f"{__name__}.store_error"
_EXTENSION = "session_store"
log = logging.getLogger(__name__)


class ServiceSessions:
    """What this service adds to Flask-Session's interface, whatever the store."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.path in PROBE_PATHS or is_token_request(request.environ):
            # A probe answers even when the store is down or a client sends a cookie. A token
            # request is authenticated by its token alone: its session, if it sent a cookie,
            # is neither read nor written, and it gets no cookie (core/tokens.py).
            return self.make_null_session(app)  # type: ignore[attr-defined,no-any-return]
        try:
            session = super().open_session(app, request)  # type: ignore[misc]
        except store.STORE_ERRORS as error:
            # Answered with a 503 by `refuse_without_session` before any view runs. Until
            # then a null session stands in, so that what reads the session after the
            # request (flask-login does) finds one.
            request.environ[ENVIRON_STORE_ERROR] = error
            return self.make_null_session(app)  # type: ignore[attr-defined,no-any-return]
        # Who the request arrived as, for log lines and the server's access line.
        user_id = session.get(SESSION_USER_KEY)
        request.environ[ENVIRON_USER] = user_id
        if user_id is not None:
            request.environ[ENVIRON_AUTH] = "session"
        return session  # type: ignore[no-any-return]

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        should_store = self.should_set_storage  # type: ignore[attr-defined]
        if not session.modified and not should_store(app, session):
            # Nothing to store, refresh or delete (most requests): of what Flask-Session does
            # for such a session, only the Vary header is left to add.
            if session.accessed:
                response.vary.add("Cookie")
            return
        ended = session.modified and not session
        try:
            super().save_session(app, session, response)  # type: ignore[misc]
        except store.STORE_ERRORS:
            # Flask answers 503 and finishes that response by saving again: once is enough.
            session.modified = False
            raise
        if ended:
            # Flask-Session deletes the cookie without the attributes it was set with, and a
            # browser ignores a __Host- cookie that is not Secure: delete it the way it was set.
            name = self.get_cookie_name(app)  # type: ignore[attr-defined]
            others = [
                cookie
                for cookie in response.headers.getlist("Set-Cookie")
                if not cookie.startswith(f"{name}=")
            ]
            response.headers.remove("Set-Cookie")
            for cookie in others:
                response.headers.add("Set-Cookie", cookie)
            response.delete_cookie(
                name,
                path=self.get_cookie_path(app),  # type: ignore[attr-defined]
                domain=self.get_cookie_domain(app),  # type: ignore[attr-defined]
                secure=self.get_cookie_secure(app),  # type: ignore[attr-defined]
                httponly=True,
                samesite=self.get_cookie_samesite(app),  # type: ignore[attr-defined]
            )


def session_store(app: Flask) -> Any:
    """The store's client (a Redis client or cachelib's file cache), as the service built it."""
    return app.extensions[_EXTENSION]


def refuse_without_session() -> None:
    """A request whose session could not be opened stops here (503), before any view."""
    error = request.environ.get(ENVIRON_STORE_ERROR)
    if error is not None:
        raise error


class ServiceSessionInterface(ServiceSessions, store.StoreInterface):  # type: ignore[misc]
    """Flask-Session's interface for the chosen store, with what the service adds."""


def ping(app: Flask) -> None:
    store.ping(session_store(app))


def init_app(app: Flask) -> None:
    """Reads APP_ENV and what core/session_store.py names; sets Flask's SESSION_* settings."""
    # In production the __Host- prefix makes browsers refuse the cookie unless it is Secure,
    # for this host only and for every path: no sibling domain can plant or shadow it.
    prefix = "__Host-" if app.config["APP_ENV"] == "production" else ""
    app.config.update(
        SESSION_COOKIE_NAME=f"{prefix}{app.name}_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_PERMANENT=True,
        # Only a request that changes the session writes to the store; a read-only request
        # costs one read. The lifetime therefore counts from the last change (the login).
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    client = store.build_store(app)
    app.extensions[_EXTENSION] = client
    # Given the client rather than SESSION_TYPE: Flask-Session silently falls back to
    # localhost when its Redis client is missing or of another type. Values must survive
    # JSON serialization: keep only strings, numbers and booleans.
    app.session_interface = ServiceSessionInterface(
        app, client=client, serialization_format="json", **store.interface_options(app)
    )
    add_check(app, refuse_without_session)
    register_unavailable(app, store.STORE_ERRORS, "session store", store.SETTING)
    try:
        store.ping(client)
    except store.STORE_ERRORS as error:
        # The service still starts (the store may come back; /readyz says whether it has),
        # but the first line says which setting to check, before any login fails.
        log.error(
            "session store unreachable at start: check %s",
            store.SETTING,
            extra={"setting": store.SETTING, "error": str(error)},
        )
    for command in store.COMMANDS:
        app.cli.add_command(command)
    for name, task in store.UPKEEP.items():
        upkeep.register(app, name, task)
