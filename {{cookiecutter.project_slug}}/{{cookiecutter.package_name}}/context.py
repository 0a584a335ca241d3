"""The context object that every unit of work carries, reached through `current_context`.

In the spirit of the old Flask-Context library: the app names a context class, one instance
is created lazily per application context (so per request, per CLI command, per job) and kept
on `g`, which Flask discards when the context ends: nothing can leak into the next request.
Everything the context knows beyond its correlation id is computed only when read.
"""

from __future__ import annotations

import time
from typing import cast

from flask import Flask, Response, current_app, g, has_request_context, request, session
from flask_login import current_user
from werkzeug.local import LocalProxy

from . import correlation

_G_KEY = "_context"
# flask-login keeps the logged-in user's id under this session key.
_SESSION_USER_KEY = "_user_id"


class Context:
    """Correlation id, user and request metadata of one unit of work."""

    def __init__(self, correlation_id: str) -> None:
        self.correlation_id = correlation_id
        self.started = time.perf_counter()
        # The user id found in the session when the request started (see begin_request).
        self.session_user_id: str | None = None

    @property
    def user_id(self) -> str | None:
        """The logged-in user's id; reading it loads the user (once per request)."""
        if not has_request_context():
            return None
        user = current_user
        return cast(str, user.get_id()) if user.is_authenticated else None

    def known_user_id(self) -> str | None:
        """The user id if it is known without any I/O: what log lines use.

        A log line must never be the reason a user is loaded from the database, so this
        reads the user flask-login already loaded (it changes at login and logout), or else
        the id the session held when the request started.
        """
        if not has_request_context():
            return None
        user = g.get("_login_user")
        if user is not None:
            return cast(str, user.get_id()) if user.is_authenticated else None
        return self.session_user_id

    @property
    def method(self) -> str | None:
        return request.method if has_request_context() else None

    @property
    def path(self) -> str | None:
        return request.path if has_request_context() else None

    @property
    def remote_addr(self) -> str | None:
        return request.remote_addr if has_request_context() else None


def session_user_id() -> str | None:
    """The user id stored in the session by flask-login, read without loading the user.

    Only for code that runs after the session was opened (hooks, views): when the session
    store fails, error handlers and log lines run without a session.
    """
    return cast(str | None, session.get(_SESSION_USER_KEY))


class ServiceContext(Context):
    """This service's context: the class to extend.

    Add what every unit of work of this service should carry (a tenant, a feature-flag set,
    an API client's name...) as properties computed on first read, so that requests which
    never ask pay nothing.
    """


class FlaskContext:
    """The extension: `FlaskContext(app, ServiceContext)` or `init_app` later."""

    def __init__(self, app: Flask | None = None, context_class: type[Context] = Context) -> None:
        self.context_class = context_class
        self.incoming_headers: tuple[str, ...] = ()
        self.response_header = ""
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        self.response_header = app.config.setdefault(
            "CORRELATION_ID_HEADER", "{{ cookiecutter.correlation_header }}"
        )
        # Order matters: the first valid value wins.
        headers = app.config.setdefault(
            "CORRELATION_ID_HEADERS",
            [self.response_header, "X-Request-ID", correlation.TRACEPARENT],
        )
        self.incoming_headers = tuple(dict.fromkeys(headers))
        app.extensions["context"] = self
        # Created at the start of each request so that its clock covers the whole request.
        app.before_request(self.begin_request)
        app.after_request(self.echo_correlation_id)

    def create(self) -> Context:
        correlation_id = None
        if has_request_context():
            correlation_id = correlation.from_headers(request.headers, self.incoming_headers)
        return self.context_class(correlation_id or correlation.new_id())

    def begin_request(self) -> None:
        # The session is open by now; remember who it says the user is, for log lines.
        get_current_context().session_user_id = session_user_id()

    def echo_correlation_id(self, response: Response) -> Response:
        # after_request also runs for responses built by error handlers, 500s included.
        response.headers[self.response_header] = get_current_context().correlation_id
        return response


def get_current_context() -> Context:
    """The context of the active application context, created on first use."""
    context: Context | None = g.get(_G_KEY)
    if context is None:
        extension: FlaskContext = current_app.extensions["context"]
        context = extension.create()
        setattr(g, _G_KEY, context)
    return context


def init_app(app: Flask) -> None:
    FlaskContext(app, ServiceContext)


current_context = cast(ServiceContext, LocalProxy(get_current_context))
