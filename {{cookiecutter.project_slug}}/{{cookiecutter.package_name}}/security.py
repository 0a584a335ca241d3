"""Security headers on every response, and trusting a reverse proxy only when told to."""

from __future__ import annotations

from flask import Flask, Response, current_app
from werkzeug.middleware.proxy_fix import ProxyFix


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Nothing here is meant to be framed or rendered as a page.
    headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    # Responses may carry a user's data: no cache may keep them unless a view says so.
    headers.setdefault("Cache-Control", "no-store")
    if current_app.config["APP_ENV"] == "production":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        # X-Forwarded-* can be set by any client: believe only as many hops as there are
        # proxies in front of the service, so it knows the client's address and HTTPS.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
