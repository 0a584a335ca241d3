"""Running work in a background thread, with the context of the code that started it.

    from {{ cookiecutter.package_name }}.core.background import submit
    future = submit(send_receipt, item.id)      # ids and plain values, never ORM objects

The worker thread gets its own application context (its own `g`, its own database Session
through `get_db()`) and a context rebuilt from a snapshot of the caller's: the same
correlation id, user id and trace. Flask's `copy_current_request_context` is not used: it
loses `g` and runs request teardown twice. Arguments and results must be JSON-serializable,
which rules out ORM objects and Sessions, whose use across threads corrupts them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from flask import Flask, current_app
{%- if cookiecutter.tracing == "opentelemetry" %}
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
{%- endif %}

from .context import get_current_context, restore_context

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["init_app", "submit"]

T = TypeVar("T")
_EXTENSION = "background"
log = logging.getLogger(__name__)
{%- if cookiecutter.tracing == "opentelemetry" %}
tracer = trace.get_tracer(__name__)
{%- endif %}


def _require_plain_data(value: object, what: str) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"background work takes and returns plain data; the {what} are not "
            f"JSON-serializable ({error}). Pass ids, not ORM objects or Sessions."
        ) from None


def _run(
    app: Flask,
    snapshot: Mapping[str, Any],
{%- if cookiecutter.tracing == "opentelemetry" %}
    carrier: dict[str, str],
{%- endif %}
    function: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> T:
{%- if cookiecutter.tracing == "opentelemetry" %}
    # The caller's trace, through OpenTelemetry's own propagation (traceparent, tracestate,
    # baggage), exactly as it would cross to another service.
    token = otel_context.attach(propagate.extract(carrier))
    try:
        with app.app_context(), tracer.start_as_current_span(f"background {function.__name__}"):
            return _call(snapshot, function, args, kwargs)
    finally:
        otel_context.detach(token)
{%- else %}
    with app.app_context():
        return _call(snapshot, function, args, kwargs)
{%- endif %}


def _call(
    snapshot: Mapping[str, Any],
    function: Callable[..., T],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> T:
    restore_context(snapshot)
    try:
        result = function(*args, **kwargs)
    except Exception:
        # Nobody may ever look at the Future: the failure must at least be in the log.
        log.exception("background work failed", extra={"function": function.__name__})
        raise
    _require_plain_data(result, "results")
    return result


def submit(function: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Run `function(*args, **kwargs)` in the background with the current context."""
    _require_plain_data([args, kwargs], "arguments")
    # The thread outlives this context: it needs the app itself, not the proxy.
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # noqa: SLF001
    executor: ThreadPoolExecutor = app.extensions[_EXTENSION]
{%- if cookiecutter.tracing == "opentelemetry" %}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return executor.submit(
        _run, app, get_current_context().snapshot(), carrier, function, args, kwargs
    )
{%- else %}
    return executor.submit(_run, app, get_current_context().snapshot(), function, args, kwargs)
{%- endif %}


def init_app(app: Flask) -> None:
    """Reads BACKGROUND_THREADS."""
    # Threads start on first use, so a pre-forking server forks none.
    app.extensions[_EXTENSION] = ThreadPoolExecutor(
        max_workers=app.config["BACKGROUND_THREADS"], thread_name_prefix="background"
    )
