"""The example resource, complete: list, read, create, update and delete.

Copy this module for a resource of your own (docs/adding-a-resource.md). Reads are
public; the audit fields (who created an item, under which correlation id) only for callers
who are logged in. Writes need a login (and, with a session, the CSRF token); only the user
who created an item may change or delete it. Others get 403, not 404: the item is public,
so hiding that it exists would protect nothing.
"""

from __future__ import annotations

{% if cookiecutter.background_jobs == "celery" -%}
import logging

{% endif -%}
from apiflask import APIBlueprint
from flask import Flask, abort, url_for
from flask_login import current_user
{%- if cookiecutter.background_jobs == "celery" %}
from kombu.exceptions import OperationalError as KombuOperationalError
{%- endif %}
from sqlalchemy import select

from .auth import login_required
from .context import current_context
from .core.api import SIGNED_IN_WRITE, json_body
from .core.db import MAX_ID, get_db{% if cookiecutter.background_jobs == "celery" %}, on_commit{% endif %}
from .core.idempotency import idempotent
from .core.pagination import PageQuery, keyset_page, link_header
from .models import Item
from .schemas import CreatedHeaders, ItemCreate, ItemOut, ItemPage, ItemUpdate, PageHeaders
{%- if cookiecutter.background_jobs == "celery" %}
from .tasks import announce_item
{%- endif %}

bp = APIBlueprint("items", __name__, url_prefix="/items")
{%- if cookiecutter.background_jobs == "celery" %}
log = logging.getLogger(__name__)
{%- endif %}


def find_item(item_id: int) -> Item:
    item = get_db().get(Item, item_id) if item_id <= MAX_ID else None
    if item is None:
        abort(404, description="No such item.")
    return item


def own_item(item_id: int) -> Item:
    item = find_item(item_id)
    if item.created_by != current_user.id:
        abort(403, description="Only the user who created this item may change it.")
    return item


@bp.get("")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(ItemPage, headers=PageHeaders)
def list_items(query: PageQuery) -> tuple[ItemPage, dict[str, str]]:
    """List items, oldest first, a page at a time"""
    items: list[Item]
    items, next_cursor = keyset_page(select(Item), Item.id, query)
    page = ItemPage(items=[ItemOut.for_caller(item) for item in items], next_cursor=next_cursor)
    return page, link_header(next_cursor, query)


@bp.get("/<int:item_id>")
@bp.output(ItemOut)
@bp.doc(responses=[404])
def get_item(item_id: int) -> ItemOut:
    """Read an item"""
    return ItemOut.for_caller(find_item(item_id))


@bp.post("")
@login_required
@idempotent
@json_body(bp, ItemCreate)
@bp.output(ItemOut, status_code=201, headers=CreatedHeaders)
@bp.doc(security=SIGNED_IN_WRITE, responses=[409])
def create_item(body: ItemCreate) -> tuple[ItemOut, int, dict[str, str]]:
    """Create an item"""
    item = Item(
        name=body.name, created_by=current_user.id, correlation_id=current_context.correlation_id
    )
    db = get_db()
    db.add(item)
    db.flush()  # the id, for the response; @idempotent commits the item with the response
{%- if cookiecutter.background_jobs == "celery" %}
    on_commit(lambda: announce(item.id))
{%- endif %}
    location = url_for(".get_item", item_id=item.id)
    return ItemOut.for_caller(item), 201, {"Location": location}
{%- if cookiecutter.background_jobs == "celery" %}


def announce(item_id: int) -> None:
    try:
        announce_item.delay(item_id)
    except KombuOperationalError:
        # The item is saved; failing the request now would invite a duplicate retry.
        log.exception("could not enqueue the item's announcement", extra={"item_id": item_id})
{%- endif %}


@bp.patch("/<int:item_id>")
@login_required
@json_body(bp, ItemUpdate)
@bp.output(ItemOut)
@bp.doc(security=SIGNED_IN_WRITE, responses=[403, 404])
def update_item(item_id: int, body: ItemUpdate) -> ItemOut:
    """Change an item (its creator only)"""
    item = own_item(item_id)
    for field in body.model_fields_set:
        setattr(item, field, getattr(body, field))
    get_db().commit()
    return ItemOut.for_caller(item)


@bp.delete("/<int:item_id>")
@login_required
@bp.output({}, status_code=204)
@bp.doc(security=SIGNED_IN_WRITE, responses=[403, 404])
def delete_item(item_id: int) -> tuple[str, int]:
    """Delete an item (its creator only)"""
    db = get_db()
    db.delete(own_item(item_id))
    db.commit()
    return "", 204


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
