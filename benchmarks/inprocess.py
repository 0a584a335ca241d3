"""Cost per request in-process, and I/O per request, of one rendered project.

Run by `python -m benchmarks` with the project's own interpreter, from the project folder:

    python inprocess.py SETTINGS_JSON

It drives each contender's WSGI callable directly, thousands of calls per round, the
contenders shuffled in every round so that machine drift touches them all alike, and writes
one JSON document to the settings' `output` path. HTTP runs cannot resolve differences this
small (see docs/PERFORMANCE.md).
"""

from __future__ import annotations

import cProfile
import gc
import importlib
import importlib.util
import io
import json
import logging
import os
import pstats
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import contenders
from werkzeug.test import EnvironBuilder

Wsgi = Callable[..., Any]
PASSWORD = "benchmark-password-0123"
# The requests whose time is broken down by owner (a profile, after the timed rounds).
BREAKDOWN = ("minimal SQLAlchemy app: item by id", "service: GET /items/<id>")
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
    # A request body is a stream, read once: each call gets a fresh one.
    data = environ["wsgi.input"].read()
    last_status = [""]

    def start_response(status: str, *_args: Any) -> None:
        last_status[0] = status

    contender.around(True)
    gc.collect()
    started = time.perf_counter()
    for _ in range(calls):
        request = environ.copy()
        if data:
            request["wsgi.input"] = io.BytesIO(data)
        body = app(request, start_response)
        for _chunk in body:
            pass
        if hasattr(body, "close"):  # optional in WSGI: a plain list has none
            body.close()
    elapsed = time.perf_counter() - started
    contender.around(False)
    # Every call of a batch is the same request: the last one answered as the first did.
    assert last_status[0].startswith(("200", "201")), f"{contender.name}: {last_status[0]}"
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
    models = importlib.import_module(f"{package}.models")

    @app.get("/benchmark/logged")
    def logged() -> dict[str, str]:
        view_log.info("handled")
        return {"status": "ok"}

    @app.get("/benchmark/plain")
    def plain() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/benchmark/items/<int:item_id>")
    def item_as_dict(item_id: int) -> dict[str, Any]:
        # The same read through get_db(), answered with a hand-built dict: what the service
        # costs without its API layer (schemas, output validation).
        return contenders.item_as_json(db.get_db().get(models.Item, item_id))

    @app.get("/benchmark/context")
    def read_context() -> dict[str, Any]:
        current = context.current_context
        return {"correlation_id": current.correlation_id, "user_id": current.user_id}

    return app


@dataclass
class Seeded:
    """What `seed` made: a user, its logged-in session cookie and CSRF token, one item."""

    email: str
    user_id: int
    cookie: str
    item_id: int
    csrf_token: str


def session_cookie(response: Any, name: str) -> str:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return str(header.split(";", 1)[0])
    raise AssertionError(f"the login set no {name} cookie")


def seed(app: Any, package: str) -> Seeded:
    """A user, a logged-in session cookie and one item."""
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
        item_id, user_id = item.id, user.id
    response = app.test_client().post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    cookie = session_cookie(response, app.config["SESSION_COOKIE_NAME"])
    return Seeded(email, user_id, cookie, item_id, response.json["csrf_token"])


def log_peer_in(peer: Any, email: str) -> tuple[str, str]:
    """The honest peer's session cookie and CSRF token for the seeded user."""
    response = peer.test_client().post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    return session_cookie(response, peer.config["SESSION_COOKIE_NAME"]), response.json["csrf_token"]


def peer_status(app: Wsgi, path: str) -> str:
    try:
        return call(app, EnvironBuilder(path=path).get_environ())
    except Exception as error:  # a peer that no longer works is reported, not fatal
        return f"fails: {type(error).__name__}: {error}"


def build_contenders(settings: dict[str, Any]) -> tuple[list[Contender], dict[str, str], Any]:
    package = settings["package"]
    service = build_service(package)
    seeded = seed(service, package)
    cookie, item_id = seeded.cookie, seeded.item_id
    models = importlib.import_module(f"{package}.models")
    schemas = importlib.import_module(f"{package}.schemas")
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
    minimal = contenders.minimal_sqlalchemy(service.config["DATABASE_URL"], models)
    honest = contenders.honest_peer(
        service.config["DATABASE_URL"],
        models,
        schemas,
        contenders.peer_sessions(service.config, settings["build"]),
        traced="tracing" in service.extensions,
    )
    honest_cookie, honest_csrf = log_peer_in(honest, seeded.email)

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
        Contender("honest peer: /healthz", honest, "/healthz", "bare Flask: /healthz"),
        Contender("APIFlask: /healthz", bare_apiflask, "/healthz", "bare Flask: /healthz"),
        Contender("bare Flask: 1 log line", bare_logged, "/logged"),
        Contender(
            "hand-written hooks: 1 log line",
            handwritten_logged,
            "/logged",
            "bare Flask: 1 log line",
        ),
        Contender(
            "flask-log-request-id: 1 log line", peer_logged, "/logged", "bare Flask: 1 log line"
        ),
        Contender(
            "service: 1 log line",
            service,
            "/benchmark/logged",
            "bare Flask: 1 log line",
            around=without_access_log,
        ),
        # In production gunicorn writes the access line: a route that answers a constant, as
        # the service's every route but the probes is answered.
        Contender(
            "service: a non-probe route", service, "/benchmark/plain", "bare Flask: /healthz"
        ),
        Contender("honest peer: a plain route", honest, "/plain", "bare Flask: /healthz"),
        Contender(
            "service: current_context + user, logged in",
            service,
            "/benchmark/context",
            "service: GET /auth/me, logged in",
            cookie=cookie,
        ),
        Contender("minimal SQLAlchemy app: user by id", minimal, f"/users/{seeded.user_id}"),
        Contender(
            "service: GET /auth/me, logged in",
            service,
            "/auth/me",
            "minimal SQLAlchemy app: user by id",
            cookie=cookie,
        ),
        Contender(
            "honest peer: GET /auth/me, logged in",
            honest,
            "/auth/me",
            "minimal SQLAlchemy app: user by id",
            cookie=honest_cookie,
        ),
        Contender("minimal SQLAlchemy app: item by id", minimal, f"/items/{item_id}"),
        Contender(
            "service: GET /items/<id>",
            service,
            f"/items/{item_id}",
            "minimal SQLAlchemy app: item by id",
        ),
        Contender(
            "service: item read, hand-built dict",
            service,
            f"/benchmark/items/{item_id}",
            "minimal SQLAlchemy app: item by id",
        ),
        Contender(
            "honest peer: GET /items/<id>",
            honest,
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
            headers={"X-CSRF-Token": seeded.csrf_token},
            json={"name": "benchmark"},
        ),
        Contender(
            "honest peer: POST /items, logged in",
            honest,
            "/items",
            "minimal SQLAlchemy app: create item",
            cookie=honest_cookie,
            method="POST",
            headers={"X-CSRFToken": honest_csrf},
            json={"name": "benchmark"},
        ),
    ]
    if "tracing" in service.extensions:
        rows.append(
            Contender(
                "Flask instrumentation alone: a plain route",
                contenders.traced_bare(),
                "/plain",
                "bare Flask: /healthz",
            )
        )
    rows += without_metrics(service, package, rows)
    for row in rows:
        got = call(row.app, row.environ())
        assert got.startswith(("200", "201")), f"{row.name}: {got}"
    return rows, notes, (service, cookie, item_id)


# The rows the metrics option's cost is measured on, each against the same request to the
# same app without its metrics middleware, in the same rounds: across two processes an item
# read's time moves by more than the option's budget.
METERED = {
    "service: /healthz": "/healthz",
    "service: a non-probe route": "a non-probe route",
    "service: 1 log line": "1 log line",
    "service: GET /items/<id>": "item read",
}
UNMETERED = "service without its metrics middleware: "


class Unmetered:
    """What the app would be without its metrics middleware: Flask's own `__call__`, which
    hands the request to `wsgi_app`, here the app that the middleware wraps."""

    def __init__(self, wsgi_app: Wsgi) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.wsgi_app(environ, start_response)


def without_metrics(service: Any, package: str, rows: list[Contender]) -> list[Contender]:
    """In the metrics variant, the metered rows again with the app's metrics middleware
    left out (core/metrics.py wraps the whole app, outermost): over its baseline, each
    row's figure is minus what metrics cost that request."""
    if importlib.util.find_spec(f"{package}.core.metrics") is None:
        return []
    metrics = importlib.import_module(f"{package}.core.metrics")
    assert isinstance(service.wsgi_app, metrics.RequestMetrics), "metrics is not outermost"
    unmetered = Unmetered(service.wsgi_app.app)
    return [
        replace(
            row,
            name=UNMETERED + METERED[row.name],
            app=unmetered,
            baseline=row.name,
            timings=[],
        )
        for row in rows
        if row.name in METERED
    ]


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


def package_of(filename: str, name: str, package: str) -> str:
    """Who a profiled function belongs to: a distribution, the service's core/ or its
    application modules, the standard library, or the interpreter's built-ins."""
    if filename == "~":  # a built-in: its name says whose type it belongs to
        for owner in ("sqlite3", "psycopg", "pydantic_core", "_contextvars"):
            if owner in name:
                return owner
        return "built-ins"
    parts = Path(filename).parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    if package in parts:
        return f"{package}.core" if "core" in parts else f"{package} (application)"
    if "python3" in filename:
        return "standard library"
    return {"contenders.py": "the minimal app's views", "inprocess.py": "the benchmark's loop"}.get(
        Path(filename).name, Path(filename).name
    )


def breakdown(row: Contender, calls: int, package: str) -> dict[str, float]:
    """Where a request's time goes: cProfile's own time of every function, summed by
    whom the function belongs to, as µs of the request's measured median (the profiler's
    overhead is spread in proportion: the shares are what it can tell)."""
    profile = cProfile.Profile()
    profile.enable()
    batch(row, calls)
    profile.disable()
    owners: dict[str, float] = defaultdict(float)
    for (filename, _line, name), entry in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        owners[package_of(filename, name, package)] += entry[2]
    total = sum(owners.values())
    median = statistics.median(row.timings)
    return {
        owner: spent / total * median
        for owner, spent in sorted(owners.items(), key=lambda item: -item[1])
        if spent / total >= 0.005
    }


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
    rng = random.Random(settings.get("seed", 7))
    for row in rows:  # warm-up: imports, caches, the connection pool
        batch(row, max(1, settings["calls"] // 10))
    by_name = {row.name: row for row in rows}
    unmetered = [row for row in rows if row.name.startswith(UNMETERED)]
    others = [row for row in rows if not row.name.startswith(UNMETERED)]
    for _round in range(settings["rounds"]):
        order = list(others)
        rng.shuffle(order)
        # Each next to the row it is measured against, before or after it at random: a
        # difference of a few µs, taken between batches run moments apart rather than
        # anywhere in the round, and neither always on the other's warm caches.
        for row in unmetered:
            metered = order.index(by_name[str(row.baseline)])
            order.insert(metered + rng.randrange(2), row)
        for row in order:
            row.timings.append(batch(row, settings["calls"]))
    result = {
        "timings": summarize(rows),
        "io": io_counts(service, settings["package"], cookie, item_id),
        # Each metered row, and the same request without the metrics middleware (metrics only).
        "without_metrics": {row.baseline: row.name for row in unmetered},
        "notes": notes,
        "breakdown": {
            name: breakdown(by_name[name], settings["calls"], settings["package"])
            for name in BREAKDOWN
        },
    }
    with open(settings["output"], "w") as output:
        json.dump(result, output, indent=1)


if __name__ == "__main__":
    main()
