"""The example resource: public reads, authenticated writes, with an audit trail."""

from __future__ import annotations

{% if cookiecutter.background_jobs == "celery" -%}
import logging
{% endif -%}
from typing import Any

from flask import Blueprint, Flask, abort
from flask_login import current_user
{% if cookiecutter.background_jobs == "celery" -%}
from kombu.exceptions import OperationalError as KombuOperationalError
{% endif -%}
from sqlalchemy import select

from .auth import login_required
from .context import current_context
from .core import payload
from .core.db import get_db
from .models import ITEM_NAME_MAX_LENGTH, Item
{%- if cookiecutter.background_jobs == "celery" %}
from .tasks import announce_item
{%- endif %}

bp = Blueprint("items", __name__, url_prefix="/items")
{%- if cookiecutter.background_jobs == "celery" %}
log = logging.getLogger(__name__)
{%- endif %}
PAGE_SIZE = 100


@bp.get("")
def list_items() -> dict[str, Any]:
    items = get_db().scalars(select(Item).order_by(Item.id).limit(PAGE_SIZE))
    return {"items": [item.to_dict() for item in items]}


@bp.get("/<int(max=2147483647):item_id>")
def get_item(item_id: int) -> dict[str, Any]:
    item = get_db().get(Item, item_id)
    if item is None:
        abort(404, description="No such item.")
    return item.to_dict()


@bp.post("")
@login_required
def create_item() -> tuple[dict[str, Any], int]:
    data = payload.json_object()
    item = Item(
        name=payload.text_field(data, "name", max_length=ITEM_NAME_MAX_LENGTH),
        created_by=current_user.id,
        correlation_id=current_context.correlation_id,
    )
    db = get_db()
    db.add(item)
    db.commit()
{%- if cookiecutter.background_jobs == "celery" %}
    try:
        announce_item.delay(item.id)
    except KombuOperationalError:
        # The item is saved; failing the request now would invite a duplicate retry.
        log.exception("could not enqueue the item's announcement", extra={"item_id": item.id})
{%- endif %}
    return item.to_dict(), 201


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
