"""The API docs page (`/docs`): Swagger UI on the service's own document, served from the
installed packages. Nothing comes from a CDN: services run where the internet is not
reachable, and a page that loads a third party's script hands it the user's session.

API_DOCS turns the page off (it is off by default in production); `/openapi.json` stays,
since other services read it.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response
from flask_swagger_ui import get_swaggerui_blueprint

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["init_app"]

# Swagger UI's own scripts and styles set inline styles; the page needs nothing else.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)
bp = Blueprint("docs", __name__, url_prefix="/docs", static_folder="static")


@bp.get("")
def page() -> Response:
    response = bp.send_static_file("docs.html")
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    return response


def init_app(app: Flask) -> None:
    """Reads API_DOCS."""
    if app.config["API_DOCS"]:
        app.register_blueprint(bp)
        # flask-swagger-ui serves Swagger UI's release files under /docs/swagger-ui/, where
        # docs.html loads them. Its own index page there has an inline script, which the
        # service's default Content-Security-Policy keeps from running: /docs is the page.
        assets = get_swaggerui_blueprint("/docs/swagger-ui", "/openapi.json")
        app.register_blueprint(assets)
