"""gunicorn's threaded worker, answering what gunicorn refuses itself in the service's JSON.

A request gunicorn cannot read (a header value with a control byte, which nginx passes on)
never reaches the application: gunicorn answers it with an HTML page of its own, without a
correlation id or the security headers. This worker lets gunicorn decide the status, as it
always does, and sends that status in the service's error shape instead, with a new id.

gunicorn.conf.py loads this file by its path (the master imports none of the application)
and sets `correlation_header`. Written by hand: gunicorn offers no setting for its error
pages; its `handle_error` is the documented place a worker answers an unreadable request.
"""

from __future__ import annotations

import json
import os
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

__all__ = ["JsonErrorWorker"]

SECURITY_HEADERS = (
    "X-Content-Type-Options: nosniff\r\n"
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
    "Cache-Control: no-store\r\n"
)
MESSAGES = {
    400: ("bad_request", "The request could not be read."),
    403: ("forbidden", "The request is not allowed."),
    414: ("request_uri_too_long", "The URL is too long."),
    417: ("expectation_failed", "The expectation cannot be met."),
    431: ("request_header_fields_too_large", "The request headers are too large."),
    501: ("not_implemented", "The request uses a transfer method this server does not know."),
}
FALLBACK = ("internal_server_error", "The service could not answer; try again later.")


class Captured:
    """Stands in for the client's socket while gunicorn writes its own page, to learn the
    status it chose: a non-blocking socket (gunicorn leaves its mode alone) that keeps what
    it is sent."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.data += data


class JsonErrorWorker(ThreadWorker):  # type: ignore[misc]
    correlation_header = "X-Correlation-ID"

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        page = Captured()
        super().handle_error(req, page, addr, exc)  # gunicorn logs it and picks the status
        # gunicorn's status line: "HTTP/1.1 400 Bad Request".
        status_line = page.data.partition(b"\r\n")[0].decode("latin-1")
        code, _, reason = status_line.partition(" ")[2].partition(" ")
        status = int(code) if code.isdigit() else 500
        error, message = MESSAGES.get(status, FALLBACK)
        correlation_id = os.urandom(16).hex()
        body = json.dumps(
            {"error": error, "message": message, "correlation_id": correlation_id}
        ).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{self.correlation_header}: {correlation_id}\r\n{SECURITY_HEADERS}\r\n"
        )
        self.log.warning(
            "request refused by the server",
            extra={"status": status, "correlation_id": correlation_id, "error": str(exc)[:200]},
        )
        try:
            client.sendall(head.encode("latin-1") + body)
        except OSError:
            self.log.debug("the client left before its error was sent")
