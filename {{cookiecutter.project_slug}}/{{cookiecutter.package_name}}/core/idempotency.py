"""Writes that are safe to retry: the `Idempotency-Key` header of the IETF HTTPAPI draft
("The Idempotency-Key HTTP Header Field").

    @bp.post("")
    @login_required
    @idempotent
    @json_body(bp, ItemCreate)
    @bp.output(ItemOut, status_code=201)
    def create_item(body: ItemCreate) -> ...:
        ...
        db.add(item)
        db.flush()  # not commit: @idempotent commits, with the response

A request that sends a key runs once per caller and key. Its response (status, body,
`Location`) is stored in the same database transaction as its writes, so they commit
together or not at all: no crash can leave a key without its item or an item without its
key. A repeat with the same key and the same request (method, path, body) gets the stored
response again, marked `Idempotent-Replayed: true`, and writes nothing; the same key with
another request is a 422; a repeat that arrives while the first is still running is a 409
(retry it later). Keys are scoped to the caller, so two users never collide, and are kept
IDEMPOTENCY_KEY_RETENTION_SECONDS; `flask prune` deletes older ones. A
request without a key runs as usual, and the decorator commits it too.

Written by hand: the Flask idempotency libraries keep responses in a cache beside the
database, which a crash can leave disagreeing with it; here the database's own transaction
and primary key do the work.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import click
from flask import Flask, Response, abort, current_app, make_response, request
from sqlalchemy import Integer, LargeBinary, String, delete
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import payload, upkeep
from .context import get_current_context, with_correlation_id
from .db import TIMESTAMP, Base, get_db
from .engine import brief_lock_wait, is_lock_conflict

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["idempotent", "init_app"]

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
# Marks a view for the OpenAPI document (core/api.py lists the header on its operation).
MARKER = "idempotent"
View = TypeVar("View", bound=Callable[..., Any])
# MySQL's BLOB holds 64 KiB; MEDIUMBLOB 16 MiB.
BODY = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql")
# Binary on MySQL: the key "ABC" is not the key "abc" (its default collation says it is).
KEY = String(KEY_MAX_LENGTH).with_variant(String(KEY_MAX_LENGTH, collation="utf8mb4_bin"), "mysql")


class StoredResponse(Base):
    """A response to a request that carried an Idempotency-Key, by caller and key."""

    __tablename__ = "idempotency_keys"

    caller: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(KEY, primary_key=True)
    # SHA-256 of the method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(BODY)
    content_type: Mapped[str | None] = mapped_column(String(255))
    location: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, index=True)


def idempotency_key() -> str | None:
    """The request's key (a Structured Fields string; the quotes are optional), or a 400."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
    printable = key.isascii() and key.isprintable() and key == key.strip()
    if not 0 < len(key) <= KEY_MAX_LENGTH or not printable:
        abort(
            400,
            description=f"{HEADER}: 1 to {KEY_MAX_LENGTH} printable ASCII characters, "
            "no space at either end.",
        )
    return key


def fingerprint() -> str:
    """SHA-256 of what makes two requests the same one: method, path, query and body."""
    target = request.path + "?" + request.query_string.decode("latin-1")
    digest = hashlib.sha256(f"{request.method} {target}\n".encode())
    digest.update(payload.read_body())
    return digest.hexdigest()


def claim(db: Session, record: StoredResponse, retention: timedelta) -> StoredResponse | None:
    """Insert the key's row in this transaction, before the view writes anything; returns
    the stored response instead when the key was used before (and is younger than
    `retention`: an older one is deleted and the key claimed anew). A concurrent request
    with the same key holds the row uncommitted: after a short wait (a repeat of a running
    request must get its 409 at once, not hold a worker until the first one ends) this one
    gets a 409."""
    with brief_lock_wait(db):
        db.add(record)
        try:
            db.flush()
            return None
        except IntegrityError:
            db.rollback()
        except OperationalError as error:
            db.rollback()
            if not is_lock_conflict(error):
                raise
            busy = f"Another request holds this {HEADER}, or the database is busy; retry."
            abort(409, description=busy)
    expired = db.execute(
        delete(StoredResponse).where(
            StoredResponse.caller == record.caller,
            StoredResponse.key == record.key,
            StoredResponse.created_at < datetime.now(UTC) - retention,
        )
    )
    if expired.rowcount:  # type: ignore[attr-defined]
        db.commit()
        return claim(db, record, retention)  # the rollback made `record` new again
    stored = db.get(StoredResponse, (record.caller, record.key))
    if stored is None:  # the other request failed and rolled back meanwhile
        abort(409, description=f"A request with this {HEADER} did not finish; retry.")
    return stored


def replay(stored: StoredResponse) -> Response:
    response = Response(stored.body, status=stored.status, content_type=stored.content_type)
    if stored.location is not None:
        response.headers["Location"] = stored.location
    response.headers[REPLAYED_HEADER] = "true"
    return response


def idempotent(view: View) -> View:
    """Make a view that creates things safe to retry with an Idempotency-Key (see above).
    Place it under the login check: keys are scoped to the caller."""

    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Response:
        db = get_db()
        key = idempotency_key()
        caller = get_current_context().user_id
        record = None
        if key is not None and caller is not None:
            record = StoredResponse(
                caller=caller,
                key=key,
                fingerprint=fingerprint(),
                status=0,
                body=b"",
                created_at=datetime.now(UTC),
            )
            retention = current_app.config["IDEMPOTENCY_KEY_RETENTION_SECONDS"]
            stored = claim(db, record, timedelta(seconds=retention))
            if stored is not None:
                if stored.fingerprint != record.fingerprint:
                    abort(422, description=f"This {HEADER} was used with another request.")
                return replay(stored)
        try:
            response = make_response(view(*args, **kwargs))
            if record is not None:
                record.status = response.status_code
                record.body = response.get_data()
                record.content_type = response.content_type
                record.location = response.headers.get("Location")
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return response

    setattr(run, MARKER, True)
    return cast(View, run)


def prune(db: Session, retention: timedelta) -> int:
    cutoff = datetime.now(UTC) - retention
    result = db.execute(delete(StoredResponse).where(StoredResponse.created_at < cutoff))
    db.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def prune_expired() -> int:
    """The current app's stored responses past their retention (an upkeep task)."""
    retention = timedelta(seconds=current_app.config["IDEMPOTENCY_KEY_RETENTION_SECONDS"])
    return prune(get_db(), retention)


@click.command("prune-idempotency-keys")
@with_correlation_id
def prune_command() -> None:
    """Delete the stored responses of Idempotency-Keys older than the retention (`flask
    prune` does it with the rest of the upkeep)."""
    click.echo(f"Removed {prune_expired()} expired idempotency keys.")


def init_app(app: Flask) -> None:
    """Reads IDEMPOTENCY_KEY_RETENTION_SECONDS (when a key is used or pruned)."""
    app.cli.add_command(prune_command)
    upkeep.register(app, "expired idempotency keys", prune_expired)
