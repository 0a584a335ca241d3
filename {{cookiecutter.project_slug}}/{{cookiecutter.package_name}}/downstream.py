"""The example of calling other services: `GET /downstream` asks every service named in
DOWNSTREAM_URLS for its `/healthz`, each call in its own background thread, through the
context-carrying client. Each of those services logs the call under this request's id."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from flask import Blueprint, Flask, current_app

from .core.background import submit
from .core.outgoing import http

log = logging.getLogger(__name__)
bp = Blueprint("downstream", __name__)
# A slow downstream service must not hold this request for longer than this.
WAIT_SECONDS = 15


def check_service(base_url: str) -> dict[str, Any]:
    log.info("calling downstream service", extra={"service": base_url})
    try:
        response = http.get(base_url.rstrip("/") + "/healthz")
    except httpx.HTTPError as error:
        log.warning("downstream service unreachable", extra={"service": base_url})
        return {"url": base_url, "status": "unreachable", "error": type(error).__name__}
    status = "ok" if response.status_code == 200 else "failed"
    return {"url": base_url, "status": status, "http_status": response.status_code}


@bp.get("/downstream")
def downstream() -> dict[str, Any]:
    futures = [submit(check_service, url) for url in current_app.config["DOWNSTREAM_URLS"]]
    return {"services": [future.result(timeout=WAIT_SECONDS) for future in futures]}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
