"""Calling other services: an HTTP client that carries the context to them.

    from {{ cookiecutter.package_name }}.core.outgoing import http, send_with_retries, service_client
    response = http.get("https://status.example.com/")
    billing = service_client("billing")  # DOWNSTREAM_URLS' billing, with its token
    invoice = send_with_retries(billing, "POST", "/invoices", json={"order": 42})

Every request sent through these clients gets the current correlation id (in the header
this service reads) and a W3C `traceparent` continuing the current trace, inside requests,
CLI commands, threads and jobs alike. A service's client also sends the API token that
DOWNSTREAM_TOKENS gives for it (`Authorization: Bearer`). httpx rather than requests
because request hooks and default timeouts are part of its client; a call without a timeout
can hang a worker forever.

`send_with_retries` makes a write safe to retry: one Idempotency-Key for all its attempts
(the service called must honour it, as this template's `@idempotent` views do), retried when
the answer was lost or says "try again". Written by hand rather than with a retry library:
what may be retried follows from the idempotency contract, and that is all this does.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from typing import Any

import httpx
from flask import current_app, has_app_context

from . import correlation
from .context import get_current_context

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
    request.headers.setdefault(correlation.TRACEPARENT, context.traceparent())


def make_client(base_url: str = "", timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.Client:
    """A client for one downstream service (or any URL), carrying the context."""
    return httpx.Client(
        base_url=base_url, timeout=timeout, event_hooks={"request": [add_context_headers]}
    )


# One client per process for ad-hoc calls: it pools connections and is thread-safe.
http = make_client()

# Answers that mean "not done, try again": still running elsewhere (409, with a key), too
# many requests, or the service or its proxy could not answer (a restart, a deploy).
RETRY_STATUSES = frozenset({409, 429, 502, 503, 504})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


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
    attempts: int = 8,
    first_delay: float = 0.2,
    **kwargs: Any,
) -> httpx.Response:
    """Send, and send again while the answer is lost (no connection, a timeout) or says
    "try again" (RETRY_STATUSES), waiting twice as long each time (with jitter), up to
    `attempts` tries. An unsafe method carries one Idempotency-Key for every try, so the
    service called does the work once however often it is asked; returns the last answer
    (or raises the last transport error)."""
    headers = httpx.Headers(kwargs.pop("headers", None))
    if method.upper() in UNSAFE_METHODS:
        headers.setdefault("Idempotency-Key", uuid.uuid4().hex)
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            response = client.request(method, url, headers=headers, **kwargs)
            if response.status_code not in RETRY_STATUSES or attempt == attempts:
                return response
            reason = f"status {response.status_code}"
        except httpx.TransportError as error:
            if attempt == attempts:
                raise
            reason = type(error).__name__
        log.warning(
            "retrying a call to another service",
            extra={"url": str(client.base_url.join(url)), "attempt": attempt, "reason": reason},
        )
        time.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 (jitter, not a secret)
        delay = min(delay * 2, 5.0)
    raise AssertionError("unreachable")  # the loop returns or raises on its last attempt
