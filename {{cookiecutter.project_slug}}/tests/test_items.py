"""The example resource: CRUD, ownership, visibility of the audit fields, and pagination."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .helpers import CSRF_HEADER, HEADER, create_item, logged_in_client


def walk(client: FlaskClient, limit: int, on_page: Any = None) -> list[dict[str, Any]]:
    """Every item, following each page's Link header, as a client would."""
    seen: list[dict[str, Any]] = []
    url: str | None = f"/items?limit={limit}"
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200
        page = response.json
        assert page is not None and len(page["items"]) <= limit
        seen.extend(page["items"])
        link = response.headers.get("Link")
        if page["next_cursor"] is None:
            assert link is None
            url = None
        else:
            assert link is not None and link.endswith('>; rel="next"')
            url = link[1 : link.index(">")]
            assert page["next_cursor"] in url
        if on_page is not None:
            on_page()
    return seen


def test_create_then_read(client: FlaskClient, logged_in: str) -> None:
    me = client.get("/auth/me").json
    assert me is not None
    response = client.post(
        "/items", json={"name": "first"}, headers={CSRF_HEADER: logged_in, HEADER: "audit-1"}
    )
    assert response.status_code == 201
    item = response.json
    assert item is not None
    assert response.headers["Location"] == f"/items/{item['id']}"
    assert item["name"] == "first"
    assert item["created_by"] == me["user"]["id"]
    assert item["correlation_id"] == "audit-1"
    assert item["created_at"].endswith("Z") or item["created_at"].endswith("+00:00")
    assert client.get(response.headers["Location"]).json == item
    listing = client.get("/items").json
    assert listing == {"items": [item], "next_cursor": None}


def test_audit_fields_are_hidden_from_anonymous_callers(app: Flask) -> None:
    owner, token = logged_in_client(app)
    item = create_item(owner, token)
    anonymous = app.test_client()
    public = anonymous.get(f"/items/{item['id']}").json
    assert public == {**item, "created_by": None, "correlation_id": None}
    listing = anonymous.get("/items").json
    assert listing is not None and listing["items"] == [public]
    # Any logged-in user sees them, not only the owner.
    other, _token = logged_in_client(app)
    assert other.get(f"/items/{item['id']}").json == item


def test_reads_are_public(client: FlaskClient) -> None:
    assert client.get("/items").status_code == 200
    assert client.get("/items/1").status_code == 404


def test_huge_ids_are_404_not_errors(client: FlaskClient) -> None:
    assert client.get("/items/99999999999999999999").status_code == 404
    assert client.get("/items/-1").status_code == 404


def test_writes_require_login(client: FlaskClient) -> None:
    assert client.post("/items", json={"name": "x"}).status_code == 401
    assert client.patch("/items/1", json={"name": "x"}).status_code == 401
    assert client.delete("/items/1").status_code == 401


def test_writes_require_the_csrf_token(app: Flask) -> None:
    client, token = logged_in_client(app)
    item = create_item(client, token)
    for method, url, body in (
        ("POST", "/items", {"name": "x"}),
        ("PATCH", f"/items/{item['id']}", {"name": "x"}),
        ("DELETE", f"/items/{item['id']}", None),
    ):
        missing = client.open(url, method=method, json=body)
        assert missing.status_code == 403
        assert missing.json is not None and missing.json["error"] == "csrf_failed"
        wrong = client.open(url, method=method, json=body, headers={CSRF_HEADER: "forged"})
        assert wrong.status_code == 403
    assert client.get("/items").json == {"items": [item], "next_cursor": None}


def test_update_changes_only_what_is_sent(app: Flask) -> None:
    client, token = logged_in_client(app)
    item = create_item(client, token, "before")
    url = f"/items/{item['id']}"
    response = client.patch(url, json={"name": "after"}, headers={CSRF_HEADER: token})
    assert response.status_code == 200
    assert response.json == {**item, "name": "after"}
    unchanged = client.patch(url, json={}, headers={CSRF_HEADER: token})
    assert unchanged.json == {**item, "name": "after"}
    null = client.patch(url, json={"name": None}, headers={CSRF_HEADER: token})
    assert null.status_code == 422
    assert null.json is not None and list(null.json["fields"]) == ["name"]
    assert client.get(url).json == {**item, "name": "after"}


def test_delete(app: Flask) -> None:
    client, token = logged_in_client(app)
    item = create_item(client, token)
    url = f"/items/{item['id']}"
    response = client.delete(url, headers={CSRF_HEADER: token})
    assert response.status_code == 204
    assert response.get_data() == b""
    assert client.get(url).status_code == 404
    assert client.delete(url, headers={CSRF_HEADER: token}).status_code == 404


def test_the_id_of_a_deleted_item_is_never_reused(app: Flask) -> None:
    client, token = logged_in_client(app)
    last = create_item(client, token)
    assert client.delete(f"/items/{last['id']}", headers={CSRF_HEADER: token}).status_code == 204
    assert create_item(client, token)["id"] > last["id"]
    assert client.get(f"/items/{last['id']}").status_code == 404


def test_only_the_owner_may_change_or_delete(app: Flask) -> None:
    owner, owner_token = logged_in_client(app)
    item = create_item(owner, owner_token, "mine")
    url = f"/items/{item['id']}"
    other, token = logged_in_client(app)
    # 403, not 404: the item is public, so its existence is no secret.
    patch = other.patch(url, json={"name": "theirs"}, headers={CSRF_HEADER: token})
    assert patch.status_code == 403
    assert patch.json is not None and patch.json["error"] == "forbidden"
    assert other.delete(url, headers={CSRF_HEADER: token}).status_code == 403
    assert owner.get(url).json == item


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": 5},
        {"name": False},
        {"name": None},
        {"name": ["x"]},
        {"name": "x" * 201},
        {"name": "nul\u0000"},
        {"name": "lone \ud800"},
        {"name": "ok", "owner": 1},
    ],
)
def test_create_validates_strictly(client: FlaskClient, logged_in: str, body: Any) -> None:
    response = client.post("/items", json=body, headers={CSRF_HEADER: logged_in})
    assert response.status_code == 422, body
    assert response.json is not None and response.json["fields"]
    assert set(response.json["fields"]) <= {"name", "owner"}
    assert client.get("/items").json == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("raw", ["null", "[]", '"name"', "42"])
def test_a_body_that_is_not_an_object_is_422(app: Flask, raw: str) -> None:
    client, token = logged_in_client(app)
    item = create_item(client, token)
    headers = {CSRF_HEADER: token, "Content-Type": "application/json"}
    for method, url in (("POST", "/items"), ("PATCH", f"/items/{item['id']}")):
        response = client.open(url, method=method, data=raw, headers=headers)
        assert response.status_code == 422, (method, raw)
        assert response.json is not None and response.json["fields"] == {
            "body": ["must be a JSON object"]
        }


def test_unicode_names_are_fine(client: FlaskClient, logged_in: str) -> None:
    response = client.post("/items", json={"name": "ünïcødé ✓"}, headers={CSRF_HEADER: logged_in})
    assert response.status_code == 201


def test_walk_sees_every_item_exactly_once(app: Flask) -> None:
    client, token = logged_in_client(app)
    ids = [create_item(client, token, f"item {n}")["id"] for n in range(250)]
    seen = [item["id"] for item in walk(client, limit=40)]
    assert seen == ids


def test_walk_while_items_come_and_go(app: Flask) -> None:
    client, token = logged_in_client(app)
    ids = [create_item(client, token, f"item {n}")["id"] for n in range(250)]
    created: list[int] = []
    deleted = set(ids[100:110]) | {ids[0], ids[-1]}
    pending = sorted(deleted)

    def change_things() -> None:
        # Between pages: one new item, and one old one gone (behind or ahead of the walk).
        created.append(create_item(client, token, "newcomer")["id"])
        if pending:
            gone = pending.pop()
            assert client.delete(f"/items/{gone}", headers={CSRF_HEADER: token}).status_code == 204

    seen = [item["id"] for item in walk(client, limit=25, on_page=change_things)]
    assert seen == sorted(set(seen)), "an item was listed twice, or out of order"
    stayed = {item_id for item_id in ids if item_id not in deleted}
    assert stayed <= set(seen), "an item that stayed was missed"
    # Items created during the walk sort after every older one: all but the last are seen.
    assert set(created[:-1]) <= set(seen)


def test_limit_has_a_default_and_a_maximum(app: Flask) -> None:
    client, token = logged_in_client(app)
    for n in range(60):
        create_item(client, token, f"item {n}")
    page = client.get("/items").json
    assert page is not None and len(page["items"]) == 50
    for limit in ("0", "101", "-1", "ten", "1.5"):
        response = client.get(f"/items?limit={limit}")
        assert response.status_code == 422, limit
        assert response.json is not None and list(response.json["fields"]) == ["limit"]


@pytest.mark.parametrize(
    "cursor",
    ["forged", "MQ", "MQ.AAAAAAAAAAAAAAAAAAAAAAAAAAA", "%FF", "x" * 200, "\u00e9", "Mg.-"],
)
def test_malformed_or_forged_cursor_is_400(app: Flask, cursor: str) -> None:
    client, token = logged_in_client(app)
    for n in range(3):
        create_item(client, token, f"item {n}")
    response = client.get("/items", query_string={"limit": 1, "cursor": cursor})
    assert response.status_code == 400
    assert response.json is not None and response.json["error"] == "bad_request"


def test_a_cursor_from_another_key_is_refused(app_factory: Any) -> None:
    first = app_factory(SECRET_KEY="a" * 40)
    client, token = logged_in_client(first)
    for n in range(3):
        create_item(client, token, f"item {n}")
    page = client.get("/items?limit=1").json
    assert page is not None and page["next_cursor"] is not None
    cursor = page["next_cursor"]
    assert client.get("/items", query_string={"cursor": cursor}).status_code == 200
    second = app_factory(SECRET_KEY="b" * 40).test_client()
    assert second.get("/items", query_string={"cursor": cursor}).status_code == 400


@pytest.mark.parametrize(
    "extra",
    [
        "view=compact",
        # url_for's own keyword arguments: each was a 500 with a traceback, or a Link to the
        # client's Host.
        "_scheme=x",
        "_anchor=x",
        "_method=POST",
        "endpoint=x",
        "_external=1",
        "_external=1&_scheme=javascript",
        "padding=" + "x" * 4000,
    ],
)
def test_the_next_link_keeps_only_what_the_operation_declares(app: Flask, extra: str) -> None:
    client, token = logged_in_client(app)
    for n in range(3):
        create_item(client, token, f"item {n}")
    response = client.get(f"/items?limit=2&{extra}", headers={"Host": "evil.example"})
    assert response.status_code == 200
    link = response.headers["Link"]
    target = link[1 : link.index(">")]
    assert target.startswith("/items?")  # relative: no client's Host, no scheme
    assert set(parse_qs(urlsplit(target).query)) == {"limit", "cursor"}
    assert len(link) < 200


def test_routing_never_redirects_to_the_clients_host(app: Flask) -> None:
    """Werkzeug's slash redirects were HTML pages to an absolute URL on the client's Host."""

    @app.get("/with-slash/")
    def with_slash() -> dict[str, str]:
        return {"seen": "yes"}

    client = app.test_client()
    for path in ("/with-slash?a=1", "/with-slash/?a=1", "/items/", "/items"):
        response = client.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 200, path
        assert "Location" not in response.headers


@pytest.mark.parametrize(
    "spell",
    [
        lambda digits: "/items//" + digits,
        lambda digits: "/items/" + quote("".join(chr(0xFF10 + int(d)) for d in digits)),
        lambda digits: "/items/" + quote("".join(chr(0x0660 + int(d)) for d in digits)),
    ],
    ids=["double-slash", "full-width", "arabic-indic"],
)
def test_odd_spellings_of_an_item_are_not_that_item(
    app: Flask, spell: Callable[[str], str]
) -> None:
    """`//` was a redirect to the client's Host; a full-width or Arabic-Indic 1 was item 1."""
    client, token = logged_in_client(app)
    item = create_item(client, token, "the item")
    assert client.get(f"/items/{item['id']}").status_code == 200
    response = client.get(spell(str(item["id"])), headers={"Host": "evil.example"})
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert response.json is not None and response.json["error"] == "not_found"
