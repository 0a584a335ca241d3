"""Health: `/healthz` says the process is alive (no I/O at all), `/readyz` that it can serve.

Orchestrators and balancers ask for `/healthz` every few seconds, and it uses nothing a
request usually needs: no session, no user, no CSRF check, no span. So `LivenessMiddleware`
answers it in the WSGI layer, before Flask builds a request (inside the correlation-id and
security-header middleware, which it still passes through); other methods, and every probe
while the access log records probes (DEBUG), go on to the Flask route below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, current_app

from . import db, sessions
from .logs import access_log

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["init_app"]

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

CHECKS: dict[str, Callable[[Flask], None]] = {
    "database": db.ping,
    "session_store": sessions.ping,
}


LIVENESS_PATH = "/healthz"
# What Flask's JSON provider writes for the route's {"status": "ok"}, byte for byte.
ALIVE = b'{"status":"ok"}\n'
ALIVE_HEADERS = (("Content-Type", "application/json"), ("Content-Length", str(len(ALIVE))))


class LivenessMiddleware:
    """Answers `GET` and `HEAD /healthz` without Flask: a few lines of WSGI, written by hand
    because no library answers one path more simply."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if (
            environ.get("PATH_INFO") != LIVENESS_PATH
            or method not in ("GET", "HEAD")
            or access_log.isEnabledFor(logging.DEBUG)
        ):
            return self.app(environ, start_response)
        start_response("200 OK", list(ALIVE_HEADERS))
        return [] if method == "HEAD" else [ALIVE]


@bp.get(LIVENESS_PATH)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    results = {}
    for name, check in CHECKS.items():
        try:
            check(current_app)
        except Exception as error:  # any failure at all means "not ready"
            log.warning(
                "readiness check failed",
                extra={"check": name, "error_type": type(error).__name__},
            )
            results[name] = "failed"
        else:
            results[name] = "ok"
    ready = all(result == "ok" for result in results.values())
    return {"status": "ready" if ready else "unavailable", "checks": results}, 200 if ready else 503


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.wsgi_app = LivenessMiddleware(app.wsgi_app)  # type: ignore[method-assign]
