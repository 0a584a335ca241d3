"""Security headers on every response, and trusting a reverse proxy only when told to."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["init_app"]

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    # Nothing here is meant to be framed or rendered as a page.
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    # Responses may carry a user's data: no cache may keep them unless a view says so.
    ("Cache-Control", "no-store"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


class SecurityHeadersMiddleware:
    """Adds each header a view did not set itself, to every response.

    In the WSGI layer rather than an after_request hook: start_response is the one place
    every response passes, Flask's own 500s included.
    """

    def __init__(self, app: WSGIApplication, headers: Iterable[tuple[str, str]]) -> None:
        self.app = app
        self.headers = tuple(headers)
        self.names = frozenset(name.lower() for name, _ in self.headers)

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes] | Iterator[bytes]:
        def start_with_headers(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            present = {name.lower() for name, _ in headers}
            if present.isdisjoint(self.names):  # the usual case: the view set none of them
                headers.extend(self.headers)
            else:
                headers.extend(item for item in self.headers if item[0].lower() not in present)
            return start_response(status, headers, *args)

        return self.app(environ, start_with_headers)


def init_app(app: Flask) -> None:
    """Reads APP_ENV (HSTS in production) and TRUSTED_PROXY_HOPS."""
    headers: tuple[tuple[str, str], ...] = SECURITY_HEADERS
    if app.config["APP_ENV"] == "production":
        headers += (HSTS,)
    app.wsgi_app = SecurityHeadersMiddleware(app.wsgi_app, headers)  # type: ignore[method-assign]
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        # X-Forwarded-* can be set by any client: believe only as many hops as there are
        # proxies in front of the service, so it knows the client's address and HTTPS.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
