"""{{ cookiecutter.project_name }}: the application factory.

Reading `create_app` top to bottom is reading how a request is handled: each line wires in
one module, and each module owns one concern.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from . import (
    auth,
    background,
    config,
    context,
    csrf,
    db,
    downstream,
    errors,
    health,
    items,
{%- if cookiecutter.background_jobs == "celery" %}
    jobs,
{%- endif %}
    logs,
    ratelimit,
    security,
    sessions,
    users,
)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    # INSTANCE_PATH: where local state lives (the SQLite file, session files) when the
    # package is installed (a container volume); by default Flask puts it next to the package.
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None)
    config.init_app(app, test_config)  # environment, .env, secret-key check
    context.init_app(app)  # current_context; correlation id in and out
    logs.init_app(app)  # JSON lines stamped with the context; access log
    errors.init_app(app)  # JSON errors; 503 when a dependency is down
    security.init_app(app)  # security headers on every response
    db.init_app(app)  # engine; get_db() Session on g; teardown_db
    sessions.init_app(app)  # server-side sessions (Flask-Session)
    auth.init_app(app)  # flask-login and /auth
    ratelimit.init_app(app)  # login attempts per client and per account
    csrf.init_app(app)  # CSRF token for session-authenticated writes
    users.init_app(app)  # create-user command
    background.init_app(app)  # threads that carry the context
    health.init_app(app)  # /healthz and /readyz
{%- if cookiecutter.background_jobs == "celery" %}
    jobs.init_app(app)  # Celery jobs that carry the context
{%- endif %}
    items.init_app(app)  # the example resource
    downstream.init_app(app)  # the example of calling other services
    return app
