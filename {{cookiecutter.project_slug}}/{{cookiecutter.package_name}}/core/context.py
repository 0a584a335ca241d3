"""The context object that every unit of work carries, reached through `current_context`.

In the spirit of the old Flask-Context library: the app names a context class, one instance
is created lazily per application context (so per request, per CLI command, per job) and kept
on `g`, which Flask discards when the context ends: nothing can leak into the next request.
Everything the context knows beyond its correlation id is computed only when read.

Work that leaves the request (a thread, a job) takes a `snapshot()`: plain data from which
`restore_context()` rebuilds the context inside the worker's own application context.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Self, TypeVar, cast

import click
from flask import Flask, current_app, g, has_request_context, request
from flask.cli import with_appcontext
from flask_login import current_user
{%- if cookiecutter.tracing == "opentelemetry" %}
from opentelemetry import trace
{%- endif %}
from werkzeug.local import LocalProxy

from . import correlation

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["SESSION_USER_KEY", "Context", "current_context", "init_app", "with_correlation_id"]

_G_KEY = "service_context"
Command = TypeVar("Command", bound=Callable[..., Any])
# The service keeps the logged-in user's id under this session key (auth.py writes it at
# login), so a request's user is known without loading it: for log lines and the CSRF check.
SESSION_USER_KEY = "user_id"
# Where the session interface leaves the id of the user a request arrived as: for log lines
# (which must not load the user) and for the server's access line, which is written after
# the response, outside any context (logs.GunicornAccessFilter).
ENVIRON_USER = "{{ cookiecutter.package_name }}.user_id"
# How that user authenticated ("session" or "token") and, for a token, its name (never the
# token): set beside ENVIRON_USER, read the same way.
ENVIRON_AUTH = "{{ cookiecutter.package_name }}.auth"
ENVIRON_TOKEN_NAME = "{{ cookiecutter.package_name }}.token_name"  # noqa: S105  # nosec B105


class Context:
    """Correlation id, user and request metadata of one unit of work."""

    def __init__(
        self,
        correlation_id: str,
        *,
        user_id: str | None = None,
        trace_id: str | None = None,
        trace_flags: str | None = None,
    ) -> None:
        self.correlation_id = correlation_id
        self.started = time.perf_counter()
        # Outside a request (a thread, a job) the work runs for the user who started it. In
        # a request, flask-login tells the context who the user is (`identify`).
        self._user_id = user_id
        self._user_known = user_id is not None
        self._trace_id = trace_id
        self._trace_flags = trace_flags

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any]) -> Self:
        """Rebuild a context from `snapshot()` data, which may have crossed a process
        boundary: anything malformed is dropped rather than trusted."""
        correlation_id = snapshot.get("correlation_id")
        user_id = snapshot.get("user_id")
        trace_id = snapshot.get("trace_id")
        trace_flags = snapshot.get("trace_flags")
        return cls(
            correlation_id
            if isinstance(correlation_id, str) and correlation.is_valid(correlation_id)
            else correlation.new_id(),
            user_id=user_id if isinstance(user_id, str) else None,
            trace_id=trace_id
            if isinstance(trace_id, str) and correlation.is_trace_id(trace_id)
            else None,
            trace_flags=trace_flags
            if isinstance(trace_flags, str) and correlation.is_trace_flags(trace_flags)
            else None,
        )

    def snapshot(self) -> dict[str, str | None]:
        """Plain data that carries this context to a thread or a job."""
        return {
            "correlation_id": self.correlation_id,
            "user_id": self.user_id,
            "trace_id": self.trace_id,
            "trace_flags": self.trace_flags,
        }

    @property
    def user_id(self) -> str | None:
        """The logged-in user's id; in a request, reading it loads the user (once).

        A request whose session holds no user and that sends no `Authorization` header
        cannot be signed in (the service issues no remember cookie): flask-login is not
        asked, which would build an anonymous user for it on every read.
        """
        if not has_request_context():
            return self._user_id
        if not (self._user_known or may_be_signed_in(request.environ)):
            return None
        user = current_user
        return cast(str, user.get_id()) if user.is_authenticated else None

    def identify(self, user_id: str | None) -> None:
        """Record who the user is now: called by flask-login's user loader, at login and at
        logout (see `auth.py`), so log lines know without loading anyone."""
        self._user_id = user_id
        self._user_known = True

    @property
    def trace_id(self) -> str:
{%- if cookiecutter.tracing == "opentelemetry" %}
        """The W3C trace id of this work: the current span's (core/tracing.py makes it the
        incoming traceparent's or the id the service generated); outside any span, the
        incoming traceparent's, or one derived from the correlation id."""
{%- else %}
        """The W3C trace id of this work: the incoming traceparent's, or one derived from
        the correlation id, so that every hop of one request shares it."""
{%- endif %}
{%- if cookiecutter.tracing == "opentelemetry" %}
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            return trace.format_trace_id(span.trace_id)
{%- endif %}
        if self._trace_id is None:
            self._read_incoming_trace()
        return self._trace_id or correlation.trace_id_for(self.correlation_id)

    @property
    def trace_flags(self) -> str:
        """The sampled flag this work passes on: the incoming traceparent's, so that a
        caller's decision to record a trace (or not) holds downstream; "01" (sampled) when
        this service starts the trace, so that a downstream service that traces records
        the request, under the correlation id, as it would have without this header."""
        if self._trace_id is None:
            self._read_incoming_trace()
        return self._trace_flags or "01"

    def _read_incoming_trace(self) -> None:
        if has_request_context():
            incoming = correlation.parse_traceparent(
                request.headers.get(correlation.TRACEPARENT, "")
            )
            if incoming is not None:
                self._trace_id, self._trace_flags = incoming
                return
        self._trace_id = correlation.trace_id_for(self.correlation_id)

    def traceparent(self) -> str:
        """A traceparent header for an outgoing call: this trace, a new parent id."""
        return f"00-{self.trace_id}-{os.urandom(8).hex()}-{self.trace_flags}"

    def known_user_id(self) -> str | None:
        """The user id if it is known without any I/O: what log lines use.

        A log line must never be the reason a user is loaded from the database, so this is
        the user flask-login identified in this request (it changes at login and logout), or
        else the one the request arrived as.
        """
        if self._user_known or not has_request_context():
            return self._user_id
        return session_user_id()

    @property
    def method(self) -> str | None:
        return request.method if has_request_context() else None

    @property
    def path(self) -> str | None:
        return request.path if has_request_context() else None

    @property
    def remote_addr(self) -> str | None:
        return request.remote_addr if has_request_context() else None


def may_be_signed_in(environ: Mapping[str, Any]) -> bool:
    """Whether a request could be signed in: its session holds a user, or it presents
    credentials (an API token)."""
    return environ.get(ENVIRON_USER) is not None or "HTTP_AUTHORIZATION" in environ


def session_user_id() -> str | None:
    """The id of the user the request arrived as (the one its session holds, or its API
    token's once that is checked), read without loading the user; None outside a request
    and when the session could not be opened."""
    if not has_request_context():
        return None
    return cast(str | None, request.environ.get(ENVIRON_USER))


class FlaskContext:
    """The extension: `FlaskContext(app, MyContext)`, or `init_app(app)` later."""

    def __init__(self, app: Flask | None = None, context_class: type[Context] = Context) -> None:
        self.context_class = context_class
        self.reader = correlation.Reader(())
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        response_header = app.config.setdefault(
            "CORRELATION_ID_HEADER",
            "{{ cookiecutter.correlation_header }}",
        )
        # Order matters: the first valid value wins.
        headers = app.config.setdefault(
            "CORRELATION_ID_HEADERS",
            [response_header, "X-Request-ID", correlation.TRACEPARENT],
        )
        self.reader = correlation.Reader(headers)
        app.extensions["context"] = self
        # No before_request hook: the id is chosen once, in the WSGI layer, and the context
        # object itself is only built when something reads it.
        app.wsgi_app = correlation.CorrelationIdMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, self.reader, response_header
        )

    def create(self) -> Context:
        if not has_request_context():
            return self.context_class(correlation.new_id())
        environ = request.environ
        # A request built without the middleware (app.test_request_context) reads its headers.
        correlation_id = environ.get(correlation.ENVIRON_ID) or self.reader(environ)
        context = self.context_class(correlation_id or correlation.new_id())
        context.started = environ.get(correlation.ENVIRON_STARTED, context.started)
        return context


def restore_context(snapshot: Mapping[str, Any]) -> Context:
    """Make a context rebuilt from `snapshot` the current one of this application context."""
    extension: FlaskContext = current_app.extensions["context"]
    context = extension.context_class.from_snapshot(snapshot)
    setattr(g, _G_KEY, context)
    return context


def with_correlation_id(command: Command) -> Command:
    """For `flask` commands: a `--correlation-id` option (or $CORRELATION_ID) and an app
    context carrying it, so a batch job can be tied to the request that triggered it.

        @click.command("rebuild-index")
        @with_correlation_id
        def rebuild_index() -> None: ...
    """

    @click.option(
        "--correlation-id",
        envvar="CORRELATION_ID",
        help="Correlation id for this run's log lines and records (default: a new one).",
    )
    @with_appcontext
    @functools.wraps(command)
    def run_with_context(*args: Any, correlation_id: str | None, **kwargs: Any) -> Any:
        if correlation_id is not None:
            if not correlation.is_valid(correlation_id):
                raise click.BadParameter(
                    "use 1 to 128 of A-Z a-z 0-9 . _ : + / = -", param_hint="--correlation-id"
                )
            restore_context({"correlation_id": correlation_id})
        return command(*args, **kwargs)

    return cast(Command, run_with_context)


def get_current_context() -> Context:
    """The context of the active application context, created on first use."""
    context: Context | None = g.get(_G_KEY)
    if context is None:
        extension: FlaskContext = current_app.extensions["context"]
        context = extension.create()
        setattr(g, _G_KEY, context)
    return context


def current_user_id() -> str | None:
    """`current_context.user_id`, without building the context of a request that cannot be
    signed in (and has not built it yet): what a response that differs for anonymous callers
    asks on every read."""
    if has_request_context() and _G_KEY not in g and not may_be_signed_in(request.environ):
        return None
    return get_current_context().user_id


def init_app(app: Flask, context_class: type[Context] = Context) -> None:
    """Reads CORRELATION_ID_HEADERS."""
    FlaskContext(app, context_class)


# The application's own module (`context.py` beside core/) gives this a narrower type.
current_context = cast(Context, LocalProxy(get_current_context))
