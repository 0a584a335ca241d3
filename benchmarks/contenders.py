"""The apps the generated service is measured against, each as small as it can honestly be.

Imported inside a rendered project's virtual environment (see inprocess.py): Flask,
SQLAlchemy and python-json-logger are the project's own versions.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("benchmark.view")
_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


def json_handler(stream: Any, formatter: logging.Formatter) -> logging.Handler:
    """A handler with the service's own formatter, so log lines cost the same to format."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    return handler


def add_endpoints(app: Flask) -> None:
    """`/healthz` as the service answers it, and `/logged`, which also writes one log line."""

    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    def logged() -> dict[str, str]:
        log.info("handled")
        return {"status": "ok"}

    app.add_url_rule("/healthz", view_func=healthz)
    app.add_url_rule("/logged", view_func=logged)


def bare() -> Flask:
    app = Flask("bare")
    add_endpoints(app)
    return app


def bare_apiflask() -> Flask:
    """APIFlask with nothing declared: what the class alone costs a route it does not touch."""
    from apiflask import APIFlask

    app = APIFlask("bare_apiflask", docs_path=None)
    add_endpoints(app)
    return app


class HandwrittenIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = g.get("correlation_id") if has_request_context() else None
        return True


def handwritten() -> Flask:
    """The minimal correlation id most services start with: two hooks and a log filter."""
    app = Flask("handwritten")

    @app.before_request
    def read_id() -> None:
        incoming = request.headers.get("X-Correlation-ID", "")
        g.correlation_id = incoming if _ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def echo_id(response: Response) -> Response:
        response.headers["X-Correlation-ID"] = g.correlation_id
        return response

    add_endpoints(app)
    return app


def flask_log_request_id() -> Flask:
    from flask_log_request_id import RequestID

    app = Flask("flask_log_request_id")
    RequestID(app)
    add_endpoints(app)
    return app


def flask_log_request_id_filter() -> logging.Filter:
    from flask_log_request_id import RequestIDLogFilter

    return RequestIDLogFilter()  # type: ignore[no-any-return]


def restore_app_ctx_stack() -> None:
    """flask-log-request-id reads `flask._app_ctx_stack`, which Flask 3 removed; this puts
    back the one attribute it uses, so that its cost can still be measured."""
    import flask
    from flask.globals import _cv_app

    class AppContextStack:
        @property
        def top(self) -> Any:
            return _cv_app.get(None)

    flask._app_ctx_stack = AppContextStack()  # type: ignore[attr-defined]


def minimal_sqlalchemy(database_url: str, model: Any) -> Flask:
    """Flask's tutorial pattern with SQLAlchemy: a Session on `g`, closed at teardown."""
    app = Flask("minimal_sqlalchemy")
    make_session = sessionmaker(create_engine(database_url))

    def get_db() -> Session:
        if "db" not in g:
            g.db = make_session()
        return g.db  # type: ignore[no-any-return]

    @app.teardown_appcontext
    def close_db(_error: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    def as_json(item: Any) -> dict[str, Any]:
        return {
            "id": item.id,
            "name": item.name,
            "created_at": item.created_at.isoformat(),
            "created_by": item.created_by,
            "correlation_id": item.correlation_id,
        }

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int) -> Any:
        item = get_db().get(model, item_id)
        if item is None:
            return {"error": "not_found"}, 404
        return as_json(item)

    # The hand-written check a service without a validation layer starts with.
    @app.post("/items")
    def create_item() -> Any:
        data = request.get_json(silent=True)
        name = data.get("name") if isinstance(data, dict) else None
        if not isinstance(name, str) or not 0 < len(name) <= 200:
            return {"error": "unprocessable_entity"}, 422
        item = model(name=name, created_by=1, correlation_id="benchmark")
        db = get_db()
        db.add(item)
        db.commit()
        return as_json(item), 201

    app.config["ENGINE"] = make_session.kw["bind"]
    return app
