"""Health: `/healthz` says the process is alive (no I/O at all), `/readyz` that it can serve."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app

from . import db, sessions

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["init_app"]

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

CHECKS: dict[str, Callable[[Flask], None]] = {
    "database": db.ping,
    "session_store": sessions.ping,
}


@bp.get("/healthz")
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
