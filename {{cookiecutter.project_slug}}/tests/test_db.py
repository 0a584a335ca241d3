"""The database session: one per application context, lazy, rolled back on error, closed."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import func, select

from {{ cookiecutter.package_name }}.core.db import db, get_database, get_db, teardown_db
from {{ cookiecutter.package_name }}.models import Item, User

from .helpers import count_checkouts, login


def test_one_session_per_application_context(app: Flask) -> None:
    with app.app_context():
        first = get_db()
        assert get_db() is first
        assert db.get_bind() is first.get_bind()
    with app.app_context():
        assert get_db() is not first


def test_no_connection_unless_the_database_is_used(app: Flask, client: FlaskClient) -> None:
    engine = get_database(app).engine
    with count_checkouts(engine) as checkouts:
        assert client.get("/healthz").status_code == 200
        assert client.get("/no-such-route").status_code == 404
        assert checkouts[0] == 0
        assert client.get("/items").status_code == 200
        assert checkouts[0] == 1


def test_every_connection_is_returned(app: Flask, client: FlaskClient, user_email: str) -> None:
    token = login(client, user_email)
    for index in range(5):
        client.post("/items", json={"name": f"n{index}"}, headers={"X-CSRF-Token": token})
        client.get("/items")
        client.post("/items", json={"name": ""}, headers={"X-CSRF-Token": token})
    assert get_database(app).engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_an_error_after_writing_commits_nothing(
    app_factory: Callable[..., Flask], user_email: str
) -> None:
    app = app_factory(PROPAGATE_EXCEPTIONS=False)

    @app.post("/half-done")
    def half_done() -> str:
        session = get_db()
        owner = session.scalar(select(User).where(User.email == user_email))
        assert owner is not None
        session.add(Item(name="partial", created_by=owner.id, correlation_id="x"))
        session.flush()  # the row is written inside the transaction...
        raise RuntimeError("...and the request fails")

    assert app.test_client().post("/half-done").status_code == 500
    with app.app_context():
        assert get_db().scalar(select(func.count()).select_from(Item)) == 0
    assert get_database(app).engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_teardown_is_idempotent(app: Flask) -> None:
    with app.app_context():
        get_db()
        teardown_db(RuntimeError("first"))
        teardown_db(None)
        assert "db_session" not in g


def test_each_app_has_its_own_engine(app_factory: Callable[..., Flask]) -> None:
    first, second = app_factory(), app_factory()
    assert get_database(first).engine is not get_database(second).engine
