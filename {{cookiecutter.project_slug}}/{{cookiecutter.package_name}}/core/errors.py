"""Errors: every failure is a JSON body with the correlation id, never an HTML page.

A dependency that is down (database, session store) answers 503 so that clients and load
balancers retry instead of reporting a bug; anything unexpected is logged with its traceback
and answered with a bare 500.
"""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any

from flask import Flask, Response, current_app, got_request_exception, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from .context import get_current_context

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["init_app"]

log = logging.getLogger(__name__)

ErrorTypes = tuple[type[Exception], ...]
_REGISTRY_KEY = "unavailable_dependencies"
# Where a request answered 503 notes which dependency failed and how, in its WSGI environ,
# for whatever counts them after the response (the metrics option's core/metrics.py).
ENVIRON_UNAVAILABLE = "{{ cookiecutter.package_name }}.unavailable_dependency"


def error_response(
    status: int, error: str, message: str, fields: dict[str, list[str]] | None = None
) -> Response:
    """The service's error body (its schema is `core.api.ErrorBody`)."""
    body: dict[str, Any] = {
        "error": error,
        "message": message,
        "correlation_id": get_current_context().correlation_id,
    }
    if fields is not None:
        body["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    return response


def error_code(name: str) -> str:
    return "_".join(re.findall(r"[a-z0-9]+", name.lower()))


def unavailable(dependency: str, error: BaseException, setting: str = "") -> Response:
    request.environ[ENVIRON_UNAVAILABLE] = (dependency, type(error).__name__)
    log.warning(
        "%s unavailable" + (f" (check {setting})" if setting else ""),
        dependency,
        extra={"dependency": dependency, "error_type": type(error).__name__, "setting": setting},
        exc_info=error,
    )
    response = error_response(503, "service_unavailable", f"The {dependency} is unavailable.")
    response.headers["Retry-After"] = "1"
    return response


def register_unavailable(
    app: Flask, exceptions: ErrorTypes, dependency: str, setting: str = ""
) -> None:
    """Answer 503 naming `dependency` whenever one of `exceptions` escapes a request; the
    log line names the `setting` that says where it is (never the answer: clients need not
    know it)."""

    def handle(error: BaseException) -> Response:
        return unavailable(dependency, error, setting)

    app.extensions.setdefault(_REGISTRY_KEY, []).append((exceptions, dependency, setting))
    for exception in exceptions:
        app.register_error_handler(exception, handle)


def _failed_dependency(error: BaseException) -> tuple[str, str] | None:
    for exceptions, dependency, setting in current_app.extensions.get(_REGISTRY_KEY, []):
        if isinstance(error, exceptions):
            return dependency, setting
    return None


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    if error.response is not None:
        return error.response
    original = getattr(error, "original_exception", None)
    if original is not None:
        # Errors outside the view (e.g. the session store failing while the session is
        # saved) reach Flask's 500 handler, never the handlers registered by type.
        failed = _failed_dependency(original)
        if failed is not None:
            return unavailable(failed[0], original, failed[1])
        # Flask has already logged this one with its traceback.
    response = error_response(error.code or 500, error_code(error.name), error.description or "")
    # Keep what the exception says about the protocol (Allow on 405, Retry-After...).
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_unexpected(app: Flask, error: Exception) -> Response:
    log.error("unhandled error", exc_info=error)
    # Flask announces an error no handler takes; this handler takes them all, so it
    # announces them itself, and error reporters (Sentry's among them) hear each once.
    got_request_exception.send(app, exception=error)
    return error_response(500, "internal_server_error", "The server could not handle the request.")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, partial(handle_unexpected, app))
