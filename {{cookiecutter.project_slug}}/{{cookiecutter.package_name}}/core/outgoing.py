"""Calling other services: an HTTP client that carries the context to them.

    from {{ cookiecutter.package_name }}.core.outgoing import http, make_client
    response = http.get("https://billing.internal/invoices/42")
    billing = make_client("https://billing.internal")  # one client per downstream service

Every request sent through `http` gets the current correlation id (in the header this
service reads) and a W3C `traceparent` continuing the current trace, inside requests, CLI
commands, threads and jobs alike. httpx rather than requests because request hooks and
default timeouts are part of its client; a call without a timeout can hang a worker forever.
"""

from __future__ import annotations

import httpx
from flask import current_app, has_app_context

from . import correlation
from .context import get_current_context

# Connect fast or fail; allow a slower answer. Override per call with `timeout=`.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=2.0)


def add_context_headers(request: httpx.Request) -> None:
    if not has_app_context():
        return
    context = get_current_context()
    header = current_app.config["CORRELATION_ID_HEADER"]
    # A caller that set the headers on purpose (e.g. forwarding another id) wins.
    request.headers.setdefault(header, context.correlation_id)
    request.headers.setdefault(correlation.TRACEPARENT, context.traceparent())


def make_client(base_url: str = "", timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.Client:
    """A client for one downstream service (or any URL), carrying the context."""
    return httpx.Client(
        base_url=base_url, timeout=timeout, event_hooks={"request": [add_context_headers]}
    )


# One client per process for ad-hoc calls: it pools connections and is thread-safe.
http = make_client()
