"""The example resource: public reads, logged-in writes with CSRF, and the audit trail."""

from __future__ import annotations

from flask.testing import FlaskClient

from .helpers import HEADER


def test_create_then_read(client: FlaskClient, logged_in: str) -> None:
    me = client.get("/auth/me").json
    assert me is not None
    response = client.post(
        "/items", json={"name": "first"}, headers={"X-CSRF-Token": logged_in, HEADER: "audit-1"}
    )
    assert response.status_code == 201
    item = response.json
    assert item is not None
    assert item["name"] == "first"
    assert item["created_by"] == me["user"]["id"]
    assert item["correlation_id"] == "audit-1"
    assert client.get(f"/items/{item['id']}").json == item
    listing = client.get("/items").json
    assert listing is not None and listing["items"] == [item]


def test_reads_are_public(client: FlaskClient) -> None:
    assert client.get("/items").status_code == 200
    assert client.get("/items/1").status_code == 404


def test_huge_ids_are_404_not_errors(client: FlaskClient) -> None:
    assert client.get("/items/99999999999999999999").status_code == 404
    assert client.get("/items/-1").status_code == 404


def test_create_requires_login(client: FlaskClient) -> None:
    response = client.post("/items", json={"name": "x"})
    assert response.status_code == 401


def test_create_requires_the_csrf_token(client: FlaskClient, logged_in: str) -> None:
    missing = client.post("/items", json={"name": "x"})
    assert missing.status_code == 403
    assert missing.json is not None and missing.json["error"] == "csrf_failed"
    wrong = client.post("/items", json={"name": "x"}, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    assert client.get("/items").json == {"items": []}


def test_name_is_validated(client: FlaskClient, logged_in: str) -> None:
    headers = {"X-CSRF-Token": logged_in}
    for body in (
        {},
        {"name": ""},
        {"name": "   "},
        {"name": 5},
        {"name": None},
        {"name": "x" * 201},
        {"name": "nul\u0000"},
        {"name": "lone \ud800"},
    ):
        response = client.post("/items", json=body, headers=headers)
        assert response.status_code == 422, body
    assert client.post("/items", json={"name": "ünïcødé ✓"}, headers=headers).status_code == 201
