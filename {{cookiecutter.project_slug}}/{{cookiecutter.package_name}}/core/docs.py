"""The API docs page (`/docs`): Swagger UI on the service's own document, served from the
installed packages. Nothing comes from a CDN: services run where the internet is not
reachable, and a page that loads a third party's script hands it the user's session.

API_DOCS turns the page off (it is off by default in production); `/openapi.json` stays,
since other services read it.
"""

from __future__ import annotations

from importlib.resources import as_file, files

from flask import Blueprint, Flask, Response, send_from_directory

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


@bp.get("/swagger-ui/<path:filename>")
def swagger_ui(filename: str) -> Response:
    # flask-swagger-ui ships Swagger UI's release files as package data in its `dist` folder.
    with as_file(files("flask_swagger_ui") / "dist") as folder:
        response = send_from_directory(folder, filename, max_age=3600)
    # Public, versioned files: unlike API responses, these may be cached.
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def init_app(app: Flask) -> None:
    if app.config["API_DOCS"]:
        app.register_blueprint(bp)
