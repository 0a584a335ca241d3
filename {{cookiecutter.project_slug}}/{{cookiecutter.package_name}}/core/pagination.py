"""Keyset (cursor) pagination: pages a client can walk while rows come and go.

A page is "the next `limit` rows after the last one you saw", in the order of one unique
column, not "rows 200 to 299": a row created or deleted during a walk shifts no other row
from one page to the next, so a walk sees every row that stayed exactly once. The cursor
names the last row seen, signed with the secret key: a client cannot forge one or change
its meaning, and a damaged one is a 400.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import abort, current_app, request, url_for
from itsdangerous import BadData, URLSafeSerializer
from pydantic import Field
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from .api import Query
from .db import get_db

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["PageQuery", "keyset_page", "link_header"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class PageQuery(Query):
    limit: int = Field(
        default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="How many rows, at most."
    )
    cursor: str | None = Field(
        default=None,
        max_length=200,
        description="Where to go on: the `next_cursor` of the previous page.",
    )


def _serializer(key: InstrumentedAttribute[int]) -> URLSafeSerializer:
    # One salt per listing and column: a cursor of one listing means nothing to another.
    salt = f"cursor:{request.endpoint}:{key}"
    return URLSafeSerializer(current_app.secret_key, salt=salt)  # type: ignore[arg-type]


def keyset_page(
    statement: Select[Any], key: InstrumentedAttribute[int], query: PageQuery
) -> tuple[list[Any], str | None]:
    """One page of `statement`, ordered by `key` (a unique integer column, such as the
    primary key), and the cursor of the next page (None on the last one)."""
    serializer = _serializer(key)
    if query.cursor is not None:
        try:
            after = serializer.loads(query.cursor)
        except BadData:
            after = None
        if type(after) is not int:  # not ours, damaged, or from a key of another type
            abort(400, description="The cursor was not issued by this service, or is damaged.")
        statement = statement.where(key > after)
    rows = list(get_db().scalars(statement.order_by(key).limit(query.limit + 1)))
    if len(rows) <= query.limit:
        return rows, None
    rows = rows[: query.limit]
    return rows, serializer.dumps(getattr(rows[-1], key.key))


def link_header(next_cursor: str | None, query: PageQuery) -> dict[str, str]:
    """The RFC 8288 `Link: <...>; rel="next"` header of a page, or none on the last one.

    The URL is relative (no client's Host in it) and keeps only the parameters the
    operation declares, as validated (a filter, say): a parameter the document does not
    declare is never copied, and each declared one is bounded by its declaration."""
    if next_cursor is None:
        return {}
    parameters = query.model_dump(mode="json", exclude_none=True)
    parameters.update(limit=query.limit, cursor=next_cursor)
    path = url_for(str(request.endpoint), **(request.view_args or {}))
    return {"Link": f'<{path}?{urlencode(parameters, doseq=True)}>; rel="next"'}
