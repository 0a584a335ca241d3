"""Logging: one JSON object per line on stdout (a `flask` command's on stderr), stamped with
the context of the work.

JSON encoding escapes every control character, so a value that came from a client can
never forge a second log line or break a log shipper's parser.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import IO

import click
from flask import Flask, Response, g, has_app_context, has_request_context, request
from flask.cli import FlaskGroup
{%- if cookiecutter.tracing == "opentelemetry" %}
from opentelemetry import trace
{%- endif %}
from pythonjsonlogger.json import JsonFormatter

from .config import PROBE_PATHS, ConfigError
from .context import ENVIRON_AUTH, ENVIRON_TOKEN_NAME, ENVIRON_USER, get_current_context
{%- if cookiecutter.background_jobs == "celery" %}
from .jobs import job_snapshot
{%- endif %}
{%- if cookiecutter.tracing == "opentelemetry" %}
from .tracing import ENVIRON_SPAN_ID, ENVIRON_TRACE_ID
{%- endif %}

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["init_app"]

_HANDLER_NAME = "{{ cookiecutter.package_name }}.json"
# The context's fields, on every line (null when unknown).
FIELDS = (
    "correlation_id",
    "user_id",
    "auth",
    "token_name",
{%- if cookiecutter.tracing == "opentelemetry" %}
    "trace_id",
    "span_id",
{%- endif %}
)
access_log = logging.getLogger("{{ cookiecutter.package_name }}.access")


class ContextFilter(logging.Filter):
    """Adds `correlation_id`, `user_id`, and how that user authenticated (`auth`: session or
    token, and `token_name`) to every record emitted inside a context{% if cookiecutter.tracing == "opentelemetry" %}; `trace_id` and
    `span_id` of the current span to every record written inside one{% endif %}.{% if cookiecutter.background_jobs == "celery" %} Celery's own lines
    about a job (received, succeeded, failed, retried) are written outside any application
    context: they get the job's context from core/jobs.py.{% endif %}"""

    def filter(self, record: logging.LogRecord) -> bool:
        # Keep what a record brought itself (gunicorn's access log, see below).
        for field in FIELDS:
            record.__dict__.setdefault(field, None)
        if has_app_context():
            try:
                context = get_current_context()
                record.correlation_id = context.correlation_id
                user_id = record.user_id = context.known_user_id()
                if has_request_context() and user_id is not None:
                    record.auth = request.environ.get(ENVIRON_AUTH)
                    record.token_name = request.environ.get(ENVIRON_TOKEN_NAME)
            except Exception:  # a log line must never fail the work that writes it
                logging.getLogger(__name__).debug("context unavailable", exc_info=True)
{%- if cookiecutter.background_jobs == "celery" %}
        elif record.__dict__["correlation_id"] is None:
            snapshot = job_snapshot(record)
            if snapshot is not None:
                record.correlation_id = snapshot.get("correlation_id")
                record.user_id = snapshot.get("user_id")
{%- endif %}
{%- if cookiecutter.tracing == "opentelemetry" %}
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            record.trace_id = trace.format_trace_id(span.trace_id)
            record.span_id = trace.format_span_id(span.span_id)
{%- endif %}
        return True


class GunicornErrorFilter(logging.Filter):
    """A worker that cannot start because of its settings says so in one line: gunicorn logs
    the exception that stopped the application's import with its traceback, and a
    configuration error's message already names the setting and the fix."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ConfigError):
            record.msg, record.args = "configuration error: %s", (error.message,)
            record.exc_info = record.exc_text = None
        return True


class GunicornAccessFilter(logging.Filter):
    """Turns gunicorn's access-log atoms into fields, the correlation id among them.

    gunicorn writes its access line after the response, outside any application context,
    so the id is read from the response header this service echoed.
    """

    def __init__(self, header: str = "{{ cookiecutter.correlation_header }}") -> None:
        super().__init__()
        self.atom = "{" + header.lower() + "}o"

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args if isinstance(record.args, dict) else {}
        correlation_id = atoms.get(self.atom)
        record.correlation_id = correlation_id if correlation_id not in (None, "-") else None
        record.user_id = atoms.get("{" + ENVIRON_USER + "}e")
        record.auth = atoms.get("{" + ENVIRON_AUTH + "}e")
        record.token_name = atoms.get("{" + ENVIRON_TOKEN_NAME + "}e")
{%- if cookiecutter.tracing == "opentelemetry" %}
        record.trace_id = atoms.get("{" + ENVIRON_TRACE_ID + "}e")
        record.span_id = atoms.get("{" + ENVIRON_SPAN_ID + "}e")
{%- endif %}
        record.method = atoms.get("m")
        record.path = atoms.get("U")
        record.status = atoms.get("s")
        record.duration_ms = atoms.get("M")
        record.remote_addr = atoms.get("h")
        return True


def make_handler(stream: IO[str]) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )
    )
    handler.addFilter(ContextFilter())
    return handler


def log_stream() -> IO[str]:
    """stdout, where servers' and workers' logs are collected; but a `flask` command writes
    its own output on stdout (a token, a listing: scripts read it), so its log lines go to
    stderr."""
    command = click.get_current_context(silent=True)
    if command is not None and isinstance(command.find_root().command, FlaskGroup):
        return sys.stderr
    return sys.stdout


def configure_logging(level: str, stream: IO[str] | None = None) -> None:
    """Send every logger's records through one JSON handler; safe to call repeatedly."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = make_handler(stream or log_stream())
    handler.set_name(_HANDLER_NAME)
    root.addHandler(handler)
    root.setLevel(level)
    # The development server's own request lines repeat the access log without the context.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def remember_status(response: Response) -> Response:
    # after_request can run twice for one request (a failure while finishing the response
    # is handled and finished again): the last status is the one the client gets.
    g.access_status = response.status_code
    return response


def response_status() -> int:
    """The status the client gets, for the access log: 500 when no response was made."""
    return int(g.get("access_status", 500))


def log_request(_error: BaseException | None) -> None:
    """The application's access log: exactly one record per request, at its very end.

    Health probes arrive every few seconds from every load balancer and orchestrator: their
    lines are DEBUG, so by default they cost neither a log line nor its formatting.
    """
    level = logging.DEBUG if request.path in PROBE_PATHS else logging.INFO
    if not access_log.isEnabledFor(level):
        return
    duration = time.perf_counter() - get_current_context().started
    access_log.log(
        level,
        "request",
        extra={
            "method": request.method,
            "path": request.path,
            "status": response_status(),
            "duration_ms": round(duration * 1000, 3),
        },
    )


def init_app(app: Flask) -> None:
    """Reads LOG_LEVEL and ACCESS_LOG."""
    configure_logging(app.config["LOG_LEVEL"])
    if app.config["ACCESS_LOG"]:
        app.after_request(remember_status)
        app.teardown_request(log_request)
