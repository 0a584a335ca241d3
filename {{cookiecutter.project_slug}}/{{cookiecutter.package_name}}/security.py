"""Response headers that a JSON API should send on every response."""

from __future__ import annotations

from flask import Flask, Response, current_app


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
