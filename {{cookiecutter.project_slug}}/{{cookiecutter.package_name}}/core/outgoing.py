"""Calling other services: an HTTP client that carries the context to them.

    from {{ cookiecutter.package_name }}.core.outgoing import http, send_with_retries, service_client
    response = http.get("https://status.example.com/")
    billing = service_client("billing")  # DOWNSTREAM_URLS' billing, with its token
    invoice = send_with_retries(billing, "POST", "/invoices", json={"order": 42})

Every request sent through these clients gets the current correlation id (in the header
this service reads) and a W3C `traceparent` continuing the current trace, inside requests,
CLI commands, threads and jobs alike.
{%- if cookiecutter.tracing == "opentelemetry" %} OpenTelemetry's httpx instrumentation writes the
`traceparent` (its parent is the call's own client span, its sampled flag the sampler's),
with `tracestate` and baggage; `add_context_headers` adds the correlation id.
{%- else %} Its sampled flag is the incoming `traceparent`'s, or
"01" when this service starts the trace (`Context.trace_flags` says why).
{%- endif %}
A service's client also sends the API token that DOWNSTREAM_TOKENS gives for it
(`Authorization: Bearer`). httpx rather than requests because request hooks and default
timeouts are part of its client; a call without a timeout can hang a worker forever.

`send_with_retries` makes a write safe to retry: one Idempotency-Key for all its attempts
(the service called must honour it, as this template's `@idempotent` views do), retried when
the answer was lost or says "try again". Written by hand rather than with a retry library:
what may be retried follows from the idempotency contract, and that is all this does.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from typing import Any

import httpx
from flask import current_app, has_app_context

{% if cookiecutter.tracing == "none" -%}
from . import correlation
{% else -%}
from . import tracing
{% endif -%}
from .context import get_current_context

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["service_client"]

log = logging.getLogger(__name__)
# Connect fast or fail; allow a slower answer. Override per call with `timeout=`.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=2.0)


def add_context_headers(request: httpx.Request) -> None:
    if not has_app_context():
        return
    context = get_current_context()
    header = current_app.config["CORRELATION_ID_HEADER"]
    # A caller that set the headers on purpose (e.g. forwarding another id) wins.
    request.headers.setdefault(header, context.correlation_id)
{%- if cookiecutter.tracing == "none" %}
    request.headers.setdefault(correlation.TRACEPARENT, context.traceparent())
{%- endif %}


def make_client(base_url: str = "", timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.Client:
    """A client for one downstream service (or any URL), carrying the context."""
{%- if cookiecutter.tracing == "opentelemetry" %}
    client = httpx.Client(
        base_url=base_url, timeout=timeout, event_hooks={"request": [add_context_headers]}
    )
    return tracing.instrument_client(client)
{%- else %}
    return httpx.Client(
        base_url=base_url, timeout=timeout, event_hooks={"request": [add_context_headers]}
    )
{%- endif %}


# One client per process for ad-hoc calls: it pools connections and is thread-safe.
http = make_client()

# Answers that mean "not done, try again": still running elsewhere (409, with a key), too
# many requests, or the service or its proxy could not answer (a restart, a deploy).
RETRY_STATUSES = frozenset({409, 429, 502, 503, 504})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The operating system's generator: no lint or scanner need be told that jitter is no secret.
_jitter = secrets.SystemRandom()


def service_client(name: str) -> httpx.Client:
    """The client for the service DOWNSTREAM_URLS calls `name`, sending its API token from
    DOWNSTREAM_TOKENS; one per service and process, shared (it is thread-safe)."""
    clients: dict[str, httpx.Client] = current_app.extensions.setdefault("outgoing_clients", {})
    client = clients.get(name)
    if client is None:
        client = make_client(current_app.config["DOWNSTREAM_URLS"][name])
        token = current_app.config["DOWNSTREAM_TOKENS"].get(name)
        if token is not None:
            client.headers["Authorization"] = f"Bearer {token}"
        client = clients.setdefault(name, client)
    return client


def send_with_retries(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    deadline: float = 20.0,
    first_delay: float = 0.2,
    **kwargs: Any,
) -> httpx.Response:
    """Send, and send again while the answer is lost (no connection, a timeout) or says
    "try again" (RETRY_STATUSES; a 409 only for a write, where it means "the same key is
    still running"), waiting twice as long each time with jitter, or as long as a
    `Retry-After` says, until `deadline` seconds have passed. A write carries one
    Idempotency-Key for every try, so the service called does the work once however often
    it is asked. Returns the last answer, or raises the last transport error.

    From a view, keep `deadline` (and the client's timeout) well inside the time the
    view's own caller waits."""
    headers = httpx.Headers(kwargs.pop("headers", None))
    write = method.upper() in UNSAFE_METHODS
    if write:
        # A Structured Fields string, quoted, as the draft writes it.
        headers.setdefault("Idempotency-Key", f'"{uuid.uuid4()}"')
    retry_on = RETRY_STATUSES if write else RETRY_STATUSES - {409}
    give_up = time.monotonic() + deadline
    delay = first_delay
    attempt = 0
    while True:
        attempt += 1
        response: httpx.Response | None = None
        try:
            response = client.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as error:
            failure, reason = error, type(error).__name__
        else:
            if response.status_code not in retry_on:
                return response
            reason = f"status {response.status_code}"
        wait = retry_after(response) or delay * _jitter.uniform(0.5, 1.5)
        if time.monotonic() + wait > give_up:
            if response is None:
                raise failure
            return response
        log.warning(
            "retrying a call to another service",
            extra={"url": str(client.base_url.join(url)), "attempt": attempt, "reason": reason},
        )
        time.sleep(wait)
        delay = min(delay * 2, 5.0)


def retry_after(response: httpx.Response | None) -> float | None:
    """The seconds a `Retry-After` asks for (its date form is not used between services)."""
    value = response.headers.get("Retry-After", "") if response is not None else ""
    return min(float(value), 60.0) if value.isdigit() else None
