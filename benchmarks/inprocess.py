"""Cost per request in-process, and I/O per request, of one rendered project.

Run by `python -m benchmarks` with the project's own interpreter, from the project folder:

    python inprocess.py SETTINGS_JSON

It drives each contender's WSGI callable directly, thousands of calls per round, the
contenders shuffled in every round so that machine drift touches them all alike, and writes
one JSON document to the settings' `output` path. HTTP runs cannot resolve differences this
small (see docs/PERFORMANCE.md).
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import contenders
from werkzeug.test import EnvironBuilder

Wsgi = Callable[..., Any]
PASSWORD = "benchmark-password-0123"
DEVNULL = open(os.devnull, "w")  # noqa: SIM115 - every contender logs here until exit


@dataclass
class Contender:
    name: str
    app: Wsgi
    path: str
    baseline: str | None = None
    cookie: str | None = None
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    # Runs around each batch of this contender (e.g. to silence the access log).
    around: Callable[[bool], None] = lambda _on: None
    timings: list[float] = field(default_factory=list)

    def environ(self) -> dict[str, Any]:
        headers = {**self.headers, **({"Cookie": self.cookie} if self.cookie else {})}
        return EnvironBuilder(
            path=self.path, method=self.method, headers=headers, json=self.json
        ).get_environ()


def call(app: Wsgi, environ: dict[str, Any]) -> str:
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> None:
        statuses.append(status)

    body = app(dict(environ), start_response)
    for _chunk in body:
        pass
    getattr(body, "close", lambda: None)()
    return statuses[-1]


def batch(contender: Contender, calls: int) -> float:
    """Microseconds per request over `calls` requests."""
    app, environ = contender.app, contender.environ()
    start_response = lambda *_args: None  # noqa: E731 - the cheapest possible callable
    contender.around(True)
    gc.collect()
    started = time.perf_counter()
    for _ in range(calls):
        body = app(environ.copy(), start_response)
        for _chunk in body:
            pass
        body.close()
    elapsed = time.perf_counter() - started
    contender.around(False)
    return elapsed / calls * 1e6


def quiet(logger: logging.Logger, handler: logging.Handler) -> logging.Logger:
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def build_service(package: str) -> Any:
    """The generated app, configured from the environment like production."""
    app = importlib.import_module(package).create_app()
    db = importlib.import_module(f"{package}.core.db")
    migrate = importlib.import_module(f"{package}.core.migrate")
    migrate.upgrade(db.get_database(app).engine)
    # Every handler writes to /dev/null: formatting is measured, terminal output is not.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(DEVNULL)
    view_log = logging.getLogger(f"{package}.benchmark")
    context = importlib.import_module(f"{package}.core.context")

    @app.get("/benchmark/logged")
    def logged() -> dict[str, str]:
        view_log.info("handled")
        return {"status": "ok"}

    @app.get("/benchmark/plain")
    def plain() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/benchmark/context")
    def read_context() -> dict[str, Any]:
        current = context.current_context
        return {"correlation_id": current.correlation_id, "user_id": current.user_id}

    return app


def seed(app: Any, package: str) -> tuple[str, int, str]:
    """A user, a logged-in session cookie and one item; returns (cookie, item id, CSRF token)."""
    users = importlib.import_module(f"{package}.users")
    models = importlib.import_module(f"{package}.models")
    db = importlib.import_module(f"{package}.core.db")
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    with app.app_context():
        user = users.create_user(email, PASSWORD)
        item = models.Item(name="benchmark", created_by=user.id, correlation_id="benchmark")
        session = db.get_db()
        session.add(item)
        session.commit()
        item_id = item.id
    response = app.test_client().post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    name = app.config["SESSION_COOKIE_NAME"]
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return header.split(";", 1)[0], item_id, response.json["csrf_token"]
    raise AssertionError("login set no session cookie")


def peer_status(app: Wsgi, path: str) -> str:
    try:
        return call(app, EnvironBuilder(path=path).get_environ())
    except Exception as error:  # a peer that no longer works is reported, not fatal
        return f"fails: {type(error).__name__}: {error}"


def build_contenders(settings: dict[str, Any]) -> tuple[list[Contender], dict[str, str], Any]:
    package = settings["package"]
    service = build_service(package)
    cookie, item_id, csrf_token = seed(service, package)
    models = importlib.import_module(f"{package}.models")
    notes: dict[str, str] = {}

    bare = contenders.bare()
    bare_apiflask = contenders.bare_apiflask()
    # The service's own JSON handler (logs.configure_logging names it after the package).
    (service_handler,) = [
        h for h in logging.getLogger().handlers if h.get_name() == f"{package}.json"
    ]
    formatter = service_handler.formatter
    assert formatter is not None
    quiet(contenders.log, contenders.json_handler(DEVNULL, formatter))
    handwritten = contenders.handwritten()
    peer = contenders.flask_log_request_id()
    minimal = contenders.minimal_sqlalchemy(service.config["DATABASE_URL"], models.Item)

    # One logger per contender family, so a line is formatted by one handler only.
    def logged_with(app_factory: Callable[[], Any], name: str, filt: Any) -> Any:
        app = app_factory()
        handler = contenders.json_handler(DEVNULL, formatter)
        if filt is not None:
            handler.addFilter(filt)
        logger = quiet(logging.getLogger(f"benchmark.{name}"), handler)
        app.view_functions["logged"] = lambda: (logger.info("handled"), {"status": "ok"})[1]
        return app

    bare_logged = logged_with(contenders.bare, "bare", None)
    handwritten_logged = logged_with(
        contenders.handwritten, "handwritten", contenders.HandwrittenIdFilter()
    )
    peer_logged = logged_with(
        contenders.flask_log_request_id, "peer", contenders.flask_log_request_id_filter()
    )
    status = peer_status(peer_logged, "/logged")
    notes["flask-log-request-id"] = (
        "works"
        if status.startswith("200")
        else f"its log filter fails when it reads the id ({status}); the 1-log-line row "
        "runs it with flask._app_ctx_stack, removed in Flask 3, put back for the benchmark"
    )
    if not status.startswith("200"):
        contenders.restore_app_ctx_stack()
    access_log = logging.getLogger(f"{package}.access")

    def without_access_log(on: bool) -> None:
        access_log.disabled = on

    rows = [
        Contender("bare Flask: /healthz", bare, "/healthz"),
        Contender("hand-written hooks: /healthz", handwritten, "/healthz", "bare Flask: /healthz"),
        Contender("flask-log-request-id: /healthz", peer, "/healthz", "bare Flask: /healthz"),
        Contender("service: /healthz", service, "/healthz", "bare Flask: /healthz"),
        Contender("APIFlask: /healthz", bare_apiflask, "/healthz", "bare Flask: /healthz"),
        Contender("bare Flask: 1 log line", bare_logged, "/logged"),
        Contender(
            "hand-written hooks: 1 log line",
            handwritten_logged,
            "/logged",
            "bare Flask: 1 log line",
        ),
        Contender(
            "service: 1 log line",
            service,
            "/benchmark/logged",
            "bare Flask: 1 log line",
            around=without_access_log,
        ),
        # In production gunicorn writes the access line: this is a route that opens the
        # (empty) session, as every route but the probes does.
        Contender(
            "service: a non-probe route", service, "/benchmark/plain", "bare Flask: /healthz"
        ),
        Contender(
            "service: current_context + user, logged in",
            service,
            "/benchmark/context",
            "service: GET /auth/me, logged in",
            cookie=cookie,
        ),
        Contender("service: GET /auth/me, logged in", service, "/auth/me", cookie=cookie),
        Contender("minimal SQLAlchemy app: item by id", minimal, f"/items/{item_id}"),
        Contender(
            "service: GET /items/<id>",
            service,
            f"/items/{item_id}",
            "minimal SQLAlchemy app: item by id",
        ),
        Contender(
            "minimal SQLAlchemy app: create item",
            minimal,
            "/items",
            method="POST",
            json={"name": "benchmark"},
        ),
        Contender(
            "service: POST /items, logged in",
            service,
            "/items",
            "minimal SQLAlchemy app: create item",
            cookie=cookie,
            method="POST",
            headers={"X-CSRF-Token": csrf_token},
            json={"name": "benchmark"},
        ),
    ]
    rows.append(
        Contender(
            "flask-log-request-id: 1 log line", peer_logged, "/logged", "bare Flask: 1 log line"
        )
    )
    for row in rows:
        got = call(row.app, row.environ())
        assert got.startswith(("200", "201")), f"{row.name}: {got}"
    return rows, notes, (service, cookie, item_id)


def io_counts(service: Any, package: str, cookie: str, item_id: int) -> dict[str, dict[str, int]]:
    """Connections checked out and session-store calls per request, with the counters the
    project's own tests use (tests/helpers.py)."""
    helpers = importlib.import_module("tests.helpers")
    db = importlib.import_module(f"{package}.core.db")
    engine = db.get_database(service).engine
    requests = {
        "/healthz": ("/healthz", None),
        "/healthz with a session cookie": ("/healthz", cookie),
        "anonymous GET /items/<id>": (f"/items/{item_id}", None),
        "logged-in GET /auth/me": ("/auth/me", cookie),
        "logged-in GET /items/<id>": (f"/items/{item_id}", cookie),
    }
    counts = {}
    for name, (path, sent) in requests.items():
        headers = {"Cookie": sent} if sent else {}
        environ = EnvironBuilder(path=path, headers=headers).get_environ()
        with (
            helpers.count_checkouts(engine) as checkouts,
            helpers.count_session_store(service) as store,
        ):
            status = call(service, environ)
        assert status.startswith("200"), f"{name}: {status}"
        counts[name] = {
            "database_checkouts": checkouts[0],
            "session_reads": store.reads,
            "session_writes": store.writes,
        }
    return counts


def summarize(rows: list[Contender]) -> list[dict[str, Any]]:
    by_name = {row.name: row for row in rows}
    summary = []
    for row in rows:
        entry: dict[str, Any] = {
            "name": row.name,
            "median_us": statistics.median(row.timings),
            "min_us": min(row.timings),
            "max_us": max(row.timings),
        }
        if row.baseline:
            base = by_name[row.baseline].timings
            # Paired by round: each difference is between batches run moments apart.
            differences = [mine - theirs for mine, theirs in zip(row.timings, base, strict=True)]
            entry["baseline"] = row.baseline
            entry["over_baseline_us"] = statistics.median(differences)
            entry["ratio"] = statistics.median(
                mine / theirs for mine, theirs in zip(row.timings, base, strict=True)
            )
        summary.append(entry)
    return summary


def main() -> None:
    settings = json.loads(sys.argv[1])
    sys.path.insert(0, os.getcwd())  # the project: its package and its tests
    rows, notes, (service, cookie, item_id) = build_contenders(settings)
    shuffle = random.Random(settings.get("seed", 7)).shuffle
    for row in rows:  # warm-up: imports, caches, the connection pool
        batch(row, max(1, settings["calls"] // 10))
    for _round in range(settings["rounds"]):
        order = list(rows)
        shuffle(order)
        for row in order:
            row.timings.append(batch(row, settings["calls"]))
    result = {
        "timings": summarize(rows),
        "io": io_counts(service, settings["package"], cookie, item_id),
        "notes": notes,
    }
    with open(settings["output"], "w") as output:
        json.dump(result, output, indent=1)


if __name__ == "__main__":
    main()
