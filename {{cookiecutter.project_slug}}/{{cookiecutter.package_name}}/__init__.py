"""{{ cookiecutter.project_name }}: the application factory.

`core/` is the infrastructure (leave it alone); the modules beside it (`context`, `models`,
`schemas`, `users`, `auth`, `items`, `downstream`{% if cookiecutter.background_jobs == "celery" %}, `tasks`{% endif %}) are the application: copy and
change them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from apiflask import APIFlask

from . import api_tokens, auth, downstream, items, users
from .context import ServiceContext
from .core import (
    api,
    background,
    config,
    context,
    csrf,
    db,
    docs,
{%- if cookiecutter.error_reporting == "sentry" %}
    error_reporting,
{%- endif %}
    errors,
    health,
    idempotency,
{%- if cookiecutter.background_jobs == "celery" %}
    jobs,
{%- endif %}
    logs,
{%- if cookiecutter.metrics == "prometheus" %}
    metrics,
{%- endif %}
    migrate,
    passwords,
    ratelimit,
    security,
    sessions,
    tokens,
{%- if cookiecutter.tracing == "opentelemetry" %}
    tracing,
{%- endif %}
    upkeep,
)


def create_app(test_config: Mapping[str, Any] | None = None) -> APIFlask:
    """Build the app. The order of the lines below matters in these ways only:

    - `config` comes first: every other `init_app` reads the settings.
{%- if cookiecutter.tracing == "opentelemetry" %}
    - `tracing` comes second: the request span opens in its before_request hook and closes
      in its teardown function, so every other hook runs (and logs) inside the span.
{%- endif %}
    - WSGI middleware wraps what was there before, so the last one wrapped sees a request
      first and its response last. `health` answers `/healthz` in the WSGI layer: it wraps
      first{% if cookiecutter.tracing == "opentelemetry" %} (after the tracing instrumentation, so probes stay out of its path){% endif %},
      so that probes still get their correlation id and security headers. `security` wraps
      ProxyFix last, so that anything reading the client's address or scheme, middleware
      included, sees the corrected values.
    - The checks of what a request presents (`core/credentials.py`, one `before_request`
      hook) run in the order they are added: `sessions` stops a request whose session could
      not be opened (503), then `csrf` refuses a forged one, before `auth` (a remember
      cookie), `api_tokens` (a dead token) or any view does any work for them.
      `after_request` hooks and teardown functions run in the reverse order of their
      registration; none of this service's depends on another.

    Error handlers, blueprints and commands are looked up by Flask when needed, so they may
    be wired in any order.
    """
    # INSTANCE_PATH: where local state lives (the SQLite file, session files) when the
    # package is installed (a container volume); by default Flask puts it next to the package.
    # APIFlask is Flask plus the OpenAPI document at /openapi.json (core/api.py); its own
    # docs page and JSON errors are replaced by the service's (core/docs.py, core/errors.py).
    app = APIFlask(
        __name__,
        title="{{ cookiecutter.project_name }}",
        version="{{ cookiecutter.version }}",
        docs_path=None,
        json_errors=False,
        instance_path=os.environ.get("INSTANCE_PATH") or None,
    )
    config.init_app(app, test_config)  # environment, .env, secret-key check
{%- if cookiecutter.tracing == "opentelemetry" %}
    tracing.init_app(app)  # OpenTelemetry: request spans, OTLP export (OTEL_* variables)
{%- endif %}

    # Infrastructure (core/).
    health.init_app(app)  # /healthz (answered before Flask) and /readyz
    context.init_app(app, ServiceContext)  # current_context; correlation ids (WSGI middleware)
    security.init_app(app)  # security headers, trusted proxies (WSGI middleware)
    logs.init_app(app)  # JSON lines stamped with the context; access log
    config.log_start(app)  # one line: the environment, the settings' sources, what is on
    errors.init_app(app)  # JSON errors; 503 when a dependency is down
{%- if cookiecutter.error_reporting == "sentry" %}
    error_reporting.init_app(app)  # Sentry, when SENTRY_DSN is set: unexpected errors, tagged
{%- endif %}
    db.init_app(app)  # engine; get_db() Session on g; teardown_db
    migrate.init_app(app)  # init-db, upgrade-db, downgrade-db (Alembic)
    sessions.init_app(app)  # server-side sessions (Flask-Session)
    api.init_app(app)  # the OpenAPI document; validation errors (after sessions: cookie name)
    docs.init_app(app)  # /docs, unless API_DOCS is off
    csrf.init_app(app)  # CSRF token for session-authenticated writes
    tokens.init_app(app)  # the Bearer challenge on a 401 to a token request
    idempotency.init_app(app)  # Idempotency-Key: writes safe to retry (@idempotent)
    passwords.init_app(app)  # Argon2id, hashing capped per worker
    ratelimit.init_app(app)  # limits on failed logins (login_guard)
    background.init_app(app)  # threads that carry the context
{%- if cookiecutter.background_jobs == "celery" %}
    jobs.init_app(app)  # Celery jobs that carry the context
{%- endif %}
    upkeep.init_app(app)  # flask prune: what expired (idempotency keys, tokens, sessions)
{%- if cookiecutter.metrics == "prometheus" %}
    metrics.init_app(app)  # Prometheus: requests, latency, dependency errors (after db)
{%- endif %}

    # The application: copy and change these.
    auth.init_app(app)  # flask-login and /auth
    api_tokens.init_app(app)  # API tokens: flask-login's request loader, /auth/tokens, commands
    users.init_app(app)  # create-user command
    items.init_app(app)  # the example resource
    downstream.init_app(app)  # the example of calling other services
    return app
