"""The example of calling other services: `GET /downstream` asks every service named in
DOWNSTREAM_URLS whom it takes this service to be (`GET /auth/me`, with the API token
DOWNSTREAM_TOKENS gives for it), each call in a background thread, through the
context-carrying client. An API endpoint rather than a probe, so that the call is what a real
one is: authenticated, logged by the other service under this request's id and, with tracing
on both sides, one trace across the two services (probes are left out of traces).

Only logged-in users may ask, and they see each service by its configured name, never its
address or the error a call raised (those go to the log). All the calls share one deadline
(DOWNSTREAM_DEADLINE_SECONDS): a slow service costs this request at most that long, and the
background pool bounds how many calls run at once. A missed deadline is a 504.

A request makes one call per configured service, and a worker process serves at most
DOWNSTREAM_CONCURRENCY of these requests at once: one more is a 503 at once, not a thread
held waiting, so that a silent service cannot take every thread from the health probes and
the other routes.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import wait
from typing import Any

import httpx
from apiflask import APIBlueprint
from flask import Flask, abort, current_app
from werkzeug.exceptions import ServiceUnavailable

from .auth import login_required
from .core.api import SIGNED_IN
from .core.background import submit
from .core.outgoing import service_client
from .schemas import DownstreamOut

log = logging.getLogger(__name__)
bp = APIBlueprint("downstream", __name__)
_IN_FLIGHT = "downstream_in_flight"
# What the other service's answer says; anything else is "failed".
ANSWERS = {200: "ok", 401: "refused", 403: "refused"}


def check_service(name: str, base_url: str, deadline: float) -> dict[str, Any]:
    log.info("calling downstream service", extra={"service": name})
    remaining = max(0.1, deadline - time.monotonic())
    try:
        response = service_client(name).get("/auth/me", timeout=remaining)
    except httpx.TimeoutException:
        log.warning("downstream service too slow", extra={"service": name, "url": base_url})
        return {"service": name, "status": "timeout"}
    except httpx.HTTPError as error:
        log.warning(
            "downstream service unreachable",
            extra={"service": name, "url": base_url, "error_type": type(error).__name__},
        )
        return {"service": name, "status": "unreachable"}
    status = ANSWERS.get(response.status_code, "failed")
    if status == "refused":
        log.warning("downstream service refused our token", extra={"service": name})
    return {"service": name, "status": status, "http_status": response.status_code}


@bp.get("/downstream")
@login_required
@bp.output(DownstreamOut)
@bp.doc(security=SIGNED_IN, responses=[504])
def downstream() -> dict[str, Any]:
    """Ask every configured service whether it is up"""
    in_flight: threading.BoundedSemaphore = current_app.extensions[_IN_FLIGHT]
    if not in_flight.acquire(blocking=False):
        log.warning("downstream requests at their limit")
        raise ServiceUnavailable(
            "Other services are being asked already; try again shortly.", retry_after=1
        )
    try:
        return ask_every_service()
    finally:
        in_flight.release()


def ask_every_service() -> dict[str, Any]:
    seconds = current_app.config["DOWNSTREAM_DEADLINE_SECONDS"]
    deadline = time.monotonic() + seconds
    futures = [
        submit(check_service, name, url, deadline)
        for name, url in current_app.config["DOWNSTREAM_URLS"].items()
    ]
    _done, pending = wait(futures, timeout=seconds)
    for future in pending:
        future.cancel()  # calls still queued never start
    results = [future.result() for future in futures if future.done() and not future.cancelled()]
    if pending or any(result["status"] == "timeout" for result in results):
        abort(504, description=f"Other services did not answer within {seconds} s.")
    return {"services": results}


def init_app(app: Flask) -> None:
    """Reads DOWNSTREAM_URLS, DOWNSTREAM_TOKENS, DOWNSTREAM_DEADLINE_SECONDS (per call) and
    DOWNSTREAM_CONCURRENCY."""
    app.extensions[_IN_FLIGHT] = threading.BoundedSemaphore(app.config["DOWNSTREAM_CONCURRENCY"])
    app.register_blueprint(bp)
