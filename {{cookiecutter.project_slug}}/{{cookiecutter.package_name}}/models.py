"""The tables. `Item` is the example resource: it records who created it and the
correlation id of the request that did, the audit trail that the context makes free.
`ApiToken` holds the API tokens of machine callers (api_tokens.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Index, String, inspect
from sqlalchemy.orm import Mapped, mapped_column

from .core.db import TIMESTAMP, Base
from .core.tokens import NAME_MAX_LENGTH

EMAIL_MAX_LENGTH = 254
ITEM_NAME_MAX_LENGTH = 200


def _now() -> datetime:
    return datetime.now(UTC)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=_now)

    # What flask-login asks of a user object (spelled out rather than inherited from
    # UserMixin, which carries no type information).
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        # From the identity map, not the attribute: after a rollback the attribute is
        # expired and reading it would query the database, from inside a log filter.
        identity = inspect(self).identity
        return str(identity[0] if identity else self.id)


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(ITEM_NAME_MAX_LENGTH))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    correlation_id: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=_now)


class ApiToken(Base):
    """A token's SHA-256, never the token: whoever reads this table cannot call as anyone."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=_now)
    # None: the token lasts until it is revoked (deleted).
    expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


# One name per user: log lines name the token that authenticated a request.
Index("ix_api_tokens_user_id_name", ApiToken.user_id, ApiToken.name, unique=True)
