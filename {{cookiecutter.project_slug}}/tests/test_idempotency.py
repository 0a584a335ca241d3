"""Idempotency-Key: a create retried with its key runs once; the stored response and the
write commit together; a repeat while the first runs is a 409."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from apiflask import APIBlueprint
from flask import Flask
from flask.testing import FlaskClient
from flask_login import current_user
from sqlalchemy import func, select, update

from {{ cookiecutter.package_name }}.auth import login_required
from {{ cookiecutter.package_name }}.context import current_context
from {{ cookiecutter.package_name }}.core.db import get_db
from {{ cookiecutter.package_name }}.core.idempotency import (
    HEADER,
    REPLAYED_HEADER,
    StoredResponse,
    idempotent,
)
from {{ cookiecutter.package_name }}.models import Item

from .helpers import CSRF_HEADER, bearer, create_api_token, create_test_user, login


def count(app: Flask, model: type[Item] | type[StoredResponse]) -> int:
    with app.app_context():
        return int(get_db().scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def token(app: Flask, user_email: str) -> str:
    return create_api_token(app, user_email)


def create(client: FlaskClient, token: str, key: str | None, name: str = "once") -> object:
    headers = {**bearer(token), **({HEADER: key} if key is not None else {})}
    return client.post("/items", json={"name": name}, headers=headers)


def test_a_retry_with_the_key_gets_the_first_response_and_creates_nothing(
    app: Flask, client: FlaskClient, token: str
) -> None:
    first = create(client, token, "order-42")
    again = create(client, token, "order-42")
    assert first.status_code == again.status_code == 201  # type: ignore[attr-defined]
    assert again.json == first.json  # type: ignore[attr-defined]
    assert again.headers["Location"] == first.headers["Location"]  # type: ignore[attr-defined]
    assert again.headers[REPLAYED_HEADER] == "true"  # type: ignore[attr-defined]
    assert REPLAYED_HEADER not in first.headers  # type: ignore[attr-defined]
    assert count(app, Item) == 1
    # Quoted (a Structured Fields string, as the draft writes it) is the same key.
    quoted = create(client, token, '"order-42"')
    assert quoted.headers[REPLAYED_HEADER] == "true"  # type: ignore[attr-defined]


def test_a_replay_answers_what_the_first_request_did_even_after_a_delete(
    client: FlaskClient, token: str
) -> None:
    """The documented choice: a replay is the first response, not the resource's state."""
    first = create(client, token, "order-43")
    location = first.headers["Location"]  # type: ignore[attr-defined]
    assert client.delete(location, headers=bearer(token)).status_code == 204
    again = create(client, token, "order-43")
    assert again.status_code == 201  # type: ignore[attr-defined]
    assert again.headers[REPLAYED_HEADER] == "true"  # type: ignore[attr-defined]
    assert client.get(location, headers=bearer(token)).status_code == 404


def test_the_same_key_with_another_body_is_a_422(
    app: Flask, client: FlaskClient, token: str
) -> None:
    create(client, token, "k1", name="first")
    other = create(client, token, "k1", name="second")
    assert other.status_code == 422  # type: ignore[attr-defined]
    assert count(app, Item) == 1


def test_keys_are_exact_text(app: Flask, client: FlaskClient, token: str) -> None:
    """Whatever the database's default collation: "ABC" is another key than "abc"."""
    assert create(client, token, "abc").status_code == 201  # type: ignore[attr-defined]
    upper = create(client, token, "ABC")
    assert upper.status_code == 201 and REPLAYED_HEADER not in upper.headers  # type: ignore[attr-defined]
    assert count(app, Item) == 2


def test_keys_are_scoped_to_the_caller(app: Flask, client: FlaskClient, token: str) -> None:
    other = create_api_token(app, create_test_user(app))
    assert create(client, token, "shared").status_code == 201  # type: ignore[attr-defined]
    theirs = create(client, other, "shared")
    assert theirs.status_code == 201 and REPLAYED_HEADER not in theirs.headers  # type: ignore[attr-defined]
    assert count(app, Item) == 2


def test_sessions_use_keys_too_and_no_key_means_no_replay(app: Flask, user_email: str) -> None:
    client = app.test_client()
    csrf = {CSRF_HEADER: login(client, user_email)}
    for _ in range(2):
        client.post("/items", json={"name": "s"}, headers={**csrf, HEADER: "session-key"})
        client.post("/items", json={"name": "no key"}, headers=csrf)
    assert count(app, Item) == 3


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there", " padded "])
def test_a_malformed_key_is_a_400(client: FlaskClient, token: str, key: str) -> None:
    response = create(client, token, key)
    assert response.status_code == 400, response.json  # type: ignore[attr-defined]


@pytest.fixture
def blocking_app(app_factory: Callable[..., Flask]) -> Iterator[tuple[Flask, threading.Event]]:
    """An app with a create view that can be held half-way, or made to fail after its write."""
    app = app_factory()
    release = threading.Event()
    started = threading.Event()
    bp = APIBlueprint("held", __name__)

    @bp.post("/held")
    @login_required
    @idempotent
    def held() -> tuple[dict[str, int], int]:
        item = Item(
            name="held", created_by=current_user.id, correlation_id=current_context.correlation_id
        )
        get_db().add(item)
        get_db().flush()
        started.set()
        release.wait(30)
        if app.config.get("FAIL_AFTER_WRITE"):
            raise RuntimeError("the view failed after its write")
        return {"id": item.id}, 201

    app.register_blueprint(bp)
    app.config["started"] = started
    yield app, release
    release.set()


def test_a_repeat_while_the_first_runs_is_a_409(
    blocking_app: tuple[Flask, threading.Event], user_email: str
) -> None:
    app, release = blocking_app
    token = create_api_token(app, user_email)
    headers = {**bearer(token), HEADER: "slow", "Content-Type": "application/json"}
    results: list[int] = []
    first = threading.Thread(
        target=lambda: results.append(app.test_client().post("/held", headers=headers).status_code)
    )
    first.start()
    assert app.config["started"].wait(10)
    assert app.test_client().post("/held", headers=headers).status_code == 409
    release.set()
    first.join(30)
    assert results == [201]
    replay = app.test_client().post("/held", headers=headers)
    assert replay.status_code == 201 and replay.headers[REPLAYED_HEADER] == "true"
    assert count(app, Item) == 1


def test_a_failure_after_the_write_leaves_neither_the_item_nor_the_key(
    blocking_app: tuple[Flask, threading.Event], user_email: str
) -> None:
    app, release = blocking_app
    release.set()
    app.config.update(FAIL_AFTER_WRITE=True, PROPAGATE_EXCEPTIONS=False)
    token = create_api_token(app, user_email)
    headers = {**bearer(token), HEADER: "doomed", "Content-Type": "application/json"}
    assert app.test_client().post("/held", headers=headers).status_code == 500
    assert (count(app, Item), count(app, StoredResponse)) == (0, 0)
    app.config["FAIL_AFTER_WRITE"] = False  # the retry runs for real
    assert app.test_client().post("/held", headers=headers).status_code == 201
    assert (count(app, Item), count(app, StoredResponse)) == (1, 1)


def age_past_retention(app: Flask, key: str) -> None:
    with app.app_context():
        get_db().execute(
            update(StoredResponse)
            .where(StoredResponse.key == key)
            .values(created_at=datetime.now(UTC) - timedelta(days=2))
        )
        get_db().commit()


def test_prune_removes_keys_past_their_retention(
    app: Flask, client: FlaskClient, token: str
) -> None:
    create(client, token, "old")
    create(client, token, "new", name="newer")
    age_past_retention(app, "old")
    # Past its retention a key is new again, pruned or not.
    fresh = create(client, token, "old")
    assert fresh.status_code == 201 and REPLAYED_HEADER not in fresh.headers  # type: ignore[attr-defined]
    age_past_retention(app, "old")
    result = app.test_cli_runner().invoke(args=["prune-idempotency-keys"])
    assert "Removed 1 expired" in result.output
    assert count(app, StoredResponse) == 1


def test_the_document_describes_the_header(client: FlaskClient) -> None:
    operation = client.get("/openapi.json").json["paths"]["/items"]["post"]  # type: ignore[index]
    (parameter,) = [p for p in operation["parameters"] if p["name"] == HEADER]
    assert parameter["in"] == "header" and not parameter["required"]
    assert {"409", "422"} <= set(operation["responses"])
    assert REPLAYED_HEADER in operation["responses"]["201"]["headers"]
