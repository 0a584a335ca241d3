"""The apps the generated service is measured against, each as small as it can honestly be.

Imported inside a rendered project's virtual environment (see inprocess.py): Flask,
SQLAlchemy and python-json-logger are the project's own versions.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, abort, g, has_request_context, request
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


def handwritten_hooks(app: Flask) -> None:
    """The minimal correlation id most services start with: two hooks (and a log filter)."""

    @app.before_request
    def read_id() -> None:
        incoming = request.headers.get("X-Correlation-ID", "")
        g.correlation_id = incoming if _ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def echo_id(response: Response) -> Response:
        response.headers["X-Correlation-ID"] = g.correlation_id
        return response


def handwritten() -> Flask:
    app = Flask("handwritten")
    handwritten_hooks(app)
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


def session_on_g(app: Flask, database_url: str, **engine: Any) -> Callable[[], Session]:
    """Flask's tutorial pattern with SQLAlchemy: `get_db()` keeps a Session on `g`, closed at
    teardown."""
    make_session = sessionmaker(create_engine(database_url, **engine))
    app.config["ENGINE"] = make_session.kw["bind"]

    def get_db() -> Session:
        if "db" not in g:
            g.db = make_session()
        return g.db  # type: ignore[no-any-return]

    @app.teardown_appcontext
    def close_db(_error: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    return get_db


def item_as_json(item: Any) -> dict[str, Any]:
    """An item as the API answers it, built by hand: no schema, no validation."""
    return {
        "id": item.id,
        "name": item.name,
        "created_at": item.created_at.isoformat(),
        "created_by": item.created_by,
        "correlation_id": item.correlation_id,
    }


def minimal_sqlalchemy(database_url: str, models: Any) -> Flask:
    """The least a service with a database does: a Session on `g`, hand-built JSON."""
    app = Flask("minimal_sqlalchemy")
    get_db = session_on_g(app, database_url)
    model = models.Item

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int) -> Any:
        item = get_db().get(model, item_id)
        if item is None:
            return {"error": "not_found"}, 404
        return item_as_json(item)

    # The baseline of `GET /auth/me`: the same user read, without any login machinery.
    @app.get("/users/<int:user_id>")
    def get_user(user_id: int) -> Any:
        user = get_db().get(models.User, user_id)
        if user is None:
            return {"error": "not_found"}, 404
        return {"user": {"id": user.id, "email": user.email, "created_at": user.created_at}}

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
        return item_as_json(item), 201

    return app


def honest_peer(
    database_url: str, models: Any, schemas: Any, sessions: dict[str, Any], traced: bool
) -> Flask:
    """The service's features wired the way each extension's documentation shows, with its
    defaults: what a team would build without the template.

    flask-login (`LoginManager.init_app`, a user loader), Flask-WTF's `CSRFProtect(app)`,
    Flask-Session (`Session(app)`, the store the service uses), the hand-written correlation
    id hooks (flask-log-request-id fails on Flask 3), Flask-Limiter (`Limiter(app)`, a limit on
    the login route), APIFlask's `input`/`output` with the service's own Pydantic models, the
    same tables and routes; in the tracing variant, `FlaskInstrumentor().instrument_app(app)`.
    """
    from apiflask import APIFlask
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address
    from flask_login import LoginManager, current_user, login_required, login_user
    from flask_session import Session as ServerSessions
    from flask_wtf.csrf import CSRFProtect

    app = APIFlask("honest_peer", docs_path=None)
    app.config.update(SECRET_KEY=uuid.uuid4().hex + uuid.uuid4().hex, **sessions)
    # The service's feature on a database server: a connection the server dropped while it
    # sat in the pool is replaced unseen, as SQLAlchemy's "Dealing with Disconnects" shows.
    get_db = session_on_g(app, database_url, pool_pre_ping=not database_url.startswith("sqlite"))
    handwritten_hooks(app)
    login_manager = LoginManager(app)
    csrf = CSRFProtect(app)
    ServerSessions(app)
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://")
    if traced:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor().instrument_app(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> Any:
        return get_db().get(models.User, int(user_id))

    add_endpoints(app)

    @app.get("/plain")
    def plain() -> dict[str, str]:
        return {"status": "ok"}

    # A JSON login has no form to carry a token from: exempt, as Flask-WTF documents.
    @app.post("/auth/login")
    @csrf.exempt
    @limiter.limit("5/minute")
    @app.input(schemas.LoginIn, arg_name="body")
    def login(body: Any) -> Any:
        from argon2 import PasswordHasher
        from argon2.exceptions import VerificationError

        user = get_db().query(models.User).filter_by(email=body.email).one_or_none()
        try:
            PasswordHasher().verify(user.password_hash if user else "", body.password)
        except VerificationError:
            return {"error": "unauthorized"}, 401
        login_user(user)
        from flask_wtf.csrf import generate_csrf

        return {"csrf_token": generate_csrf()}

    @app.get("/auth/me")
    @login_required
    @app.output(schemas.MeOut)
    def me() -> Any:
        return {"user": schemas.UserOut.model_validate(current_user)}

    @app.get("/items/<int:item_id>")
    @app.output(schemas.ItemOut)
    def get_item(item_id: int) -> Any:
        item = get_db().get(models.Item, item_id)
        if item is None:
            abort(404)
        return item

    @app.post("/items")
    @login_required
    @app.input(schemas.ItemCreate, arg_name="body")
    @app.output(schemas.ItemOut, status_code=201)
    def create_item(body: Any) -> Any:
        item = models.Item(
            name=body.name, created_by=current_user.id, correlation_id=g.correlation_id
        )
        db = get_db()
        db.add(item)
        db.commit()
        return item

    return app


def traced_bare() -> Flask:
    """Bare Flask with OpenTelemetry's Flask instrumentation as its documentation sets it up:
    what the instrumentation itself costs a request."""
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    app = bare()
    app.add_url_rule("/plain", "plain", lambda: {"status": "ok"})
    FlaskInstrumentor().instrument_app(app)
    return app


def peer_sessions(config: Any, folder: str) -> dict[str, Any]:
    """Flask-Session's settings for the honest peer: the store the service uses (its config),
    in a folder or under a key prefix of its own, every other setting at its default."""
    if "REDIS_URL" in config:
        import redis

        return {
            "SESSION_TYPE": "redis",
            "SESSION_REDIS": redis.Redis.from_url(config["REDIS_URL"]),
            "SESSION_KEY_PREFIX": f"benchmark-peer-{uuid.uuid4().hex[:8]}:",
        }
    from cachelib.file import FileSystemCache

    return {"SESSION_TYPE": "cachelib", "SESSION_CACHELIB": FileSystemCache(folder)}


def served_peer() -> Flask:
    """The honest peer for gunicorn (`contenders:served_peer()`), on the database and the
    session store that the rendered service's own settings name (BENCHMARK_PACKAGE: the
    service's package)."""
    import importlib
    import os
    import tempfile

    package = os.environ["BENCHMARK_PACKAGE"]
    service = importlib.import_module(package).create_app()
    return honest_peer(
        service.config["DATABASE_URL"],
        importlib.import_module(f"{package}.models"),
        importlib.import_module(f"{package}.schemas"),
        peer_sessions(service.config, tempfile.mkdtemp()),
        traced="tracing" in service.extensions,
    )
