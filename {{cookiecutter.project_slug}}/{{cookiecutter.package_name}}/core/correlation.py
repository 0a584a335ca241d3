"""Correlation ids: which incoming value to trust, how to make a new one, and the WSGI
middleware that gives every request one before Flask starts and echoes it on every response.

Written by hand because the published extensions each miss something this service needs
(validation, the response header, traceparent, Flask 3 support): a few pure functions and a
middleware that touches only the WSGI environ.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# An allow-list with a length cap rather than a UUID check: nginx's $request_id and W3C
# trace ids are 32 hex characters, and stdlib UUID parsing accepts braces, "urn:uuid:"
# prefixes and thousands of hyphens.
_VALID_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_TRACE_FLAGS = re.compile(r"[0-9a-f]{2}")
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
TRACEPARENT = "traceparent"
# The W3C trace context a request may bring: believed only from callers whose ids are
# believed (CORRELATION_ID_HEADERS names traceparent), otherwise removed on arrival.
TRACE_CONTEXT_KEYS = ("HTTP_TRACEPARENT", "HTTP_TRACESTATE", "HTTP_BAGGAGE")
# Where the middleware leaves the id and the arrival time for the context (and for gunicorn's
# access log, which can print any WSGI environ key).
ENVIRON_ID = "{{ cookiecutter.package_name }}.correlation_id"
ENVIRON_STARTED = "{{ cookiecutter.package_name }}.started"
# Set when no header gave an id and the service made one: only such an id may become a trace
# id{% if cookiecutter.tracing == "opentelemetry" %} (core/tracing.py){% endif %}, so that clients cannot choose trace ids.
ENVIRON_GENERATED = "{{ cookiecutter.package_name }}.correlation_id_generated"


def new_id() -> str:
    """32 random hex characters: the shape of a W3C trace id, so it can be reused as one."""
    return os.urandom(16).hex()


def is_valid(value: str) -> bool:
    return _VALID_ID.fullmatch(value) is not None


def parse_traceparent(traceparent: str) -> tuple[str, str] | None:
    """The trace id and trace flags of a valid W3C traceparent header, else None."""
    match = _TRACEPARENT.fullmatch(traceparent)
    if match is None:
        return None
    version, trace, parent, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace == "0" * 32 or parent == "0" * 16:
        return None
    return trace, flags


def trace_id(traceparent: str) -> str | None:
    """The trace id of a valid W3C traceparent header, else None."""
    parsed = parse_traceparent(traceparent)
    return parsed[0] if parsed is not None else None


def is_trace_id(value: str) -> bool:
    return _TRACE_ID.fullmatch(value) is not None and value != "0" * 32


def is_trace_flags(value: str) -> bool:
    return _TRACE_FLAGS.fullmatch(value) is not None


def trace_id_for(correlation_id: str) -> str:
    """The correlation id itself when it has the shape of a trace id, else a stable hash."""
    if is_trace_id(correlation_id):
        return correlation_id
    return hashlib.blake2b(correlation_id.encode(), digest_size=16).hexdigest()


def _valid_or_none(value: str) -> str | None:
    return value if is_valid(value) else None


def environ_key(header: str) -> str:
    """The WSGI environ key of a request header: X-Request-ID is HTTP_X_REQUEST_ID."""
    return "HTTP_" + header.upper().replace("-", "_")


class Reader:
    """Picks the first valid id among headers, in order; invalid values are skipped, never kept.

    Reads the WSGI environ directly: it runs for every request, before Flask parses anything.
    """

    def __init__(self, headers: Iterable[str]) -> None:
        self.sources: tuple[tuple[str, Callable[[str], str | None]], ...] = tuple(
            (environ_key(name), trace_id if name.lower() == TRACEPARENT else _valid_or_none)
            for name in dict.fromkeys(headers)
        )
        # One setting decides: whoever may name the correlation id by its traceparent may
        # continue a trace. At an edge (no traceparent among the headers) a client's trace
        # context would choose the trace id, force sampling with its flag, and reach the
        # services downstream with its tracestate and baggage: it is dropped instead.
        self.trusts_trace_context = environ_key(TRACEPARENT) in dict(self.sources)

    def __call__(self, environ: Mapping[str, Any]) -> str | None:
        for key, parse in self.sources:
            value = environ.get(key)
            if value:
                found = parse(value)
                if found is not None:
                    return found
        return None


class CorrelationIdMiddleware:
    """Gives each request its id and adds it to every response, 404s and 500s included.

    WSGI rather than Flask hooks: start_response is the one place every response passes,
    even one built after an after_request hook failed.
    """

    def __init__(self, app: WSGIApplication, reader: Reader, response_header: str) -> None:
        self.app = app
        self.reader = reader
        self.response_header = response_header

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes] | Iterator[bytes]:
        if not self.reader.trusts_trace_context:
            for key in TRACE_CONTEXT_KEYS:
                environ.pop(key, None)
        correlation_id = self.reader(environ)
        if correlation_id is None:
            correlation_id = new_id()
            environ[ENVIRON_GENERATED] = True
        environ[ENVIRON_ID] = correlation_id
        environ[ENVIRON_STARTED] = time.perf_counter()
        header = (self.response_header, correlation_id)
        lowered = self.response_header.lower()

        def start_with_id(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            # The id chosen here is the one logged: it replaces any a view set itself.
            for name, _value in headers:
                if name.lower() == lowered:
                    headers[:] = [item for item in headers if item[0].lower() != lowered]
                    break
            headers.append(header)
            return start_response(status, headers, *args)

        return self.app(environ, start_with_id)
