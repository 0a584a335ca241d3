"""The bodies of this service's API, declared once: APIFlask validates requests against
these models and builds `/openapi.json` from them.

Request bodies derive from `Body` (strict types, unknown fields refused), responses from
`Resource` (built from the ORM objects; `signed_in_only` fields are null for anonymous
callers). Text fields are `Annotated[str, Text(n)]`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from .core.api import Body, Resource, Text, Timestamp, signed_in_only, unchanged
from .core.passwords import PASSWORD_MAX_LENGTH
from .core.tokens import LIFETIME_PATTERN
from .core.tokens import NAME_MAX_LENGTH as TOKEN_NAME_MAX_LENGTH
from .models import EMAIL_MAX_LENGTH, ITEM_NAME_MAX_LENGTH

ItemName = Annotated[str, Text(ITEM_NAME_MAX_LENGTH)]


class LoginIn(Body):
    email: Annotated[str, Text(EMAIL_MAX_LENGTH)]
    password: Annotated[str, Text(PASSWORD_MAX_LENGTH)]


class UserOut(Resource):
    id: int
    email: str
    created_at: Timestamp


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every change.")


class MeOut(BaseModel):
    user: UserOut


class TokenCreate(Body):
    name: Annotated[str, Text(TOKEN_NAME_MAX_LENGTH)] = Field(
        description="Unique among your tokens; log lines name the token a request used."
    )
    expires_in: Annotated[str, Field(pattern=LIFETIME_PATTERN)] = Field(
        default="90d", description="90d, 12h, 30m (days, hours, minutes), or never."
    )


class TokenOut(Resource):
    id: int
    name: str
    created_at: Timestamp
    expires_at: Timestamp | None


class NewTokenOut(TokenOut):
    token: str = Field(
        description="Send it as `Authorization: Bearer <token>`. Shown once: only a hash is kept."
    )


class TokenList(BaseModel):
    tokens: list[TokenOut]


class ItemCreate(Body):
    name: ItemName


class ItemUpdate(Body):
    """Only the fields sent change; none can be set to null."""

    name: ItemName = unchanged()


class ItemOut(Resource):
    id: int
    name: str
    created_at: Timestamp
    created_by: int | None = signed_in_only("The id of the user who created the item.")
    correlation_id: str | None = signed_in_only("The correlation id of the creating request.")


class ItemPage(BaseModel):
    items: list[ItemOut]
    next_cursor: str | None = Field(
        description="Pass it as `cursor` for the next page; null on the last page."
    )


class PageHeaders(BaseModel):
    link: str | None = Field(
        default=None, description='The next page (rel="next"); absent on the last page.'
    )


class CreatedHeaders(BaseModel):
    location: str = Field(description="The new item's URL.")


class ServiceStatus(BaseModel):
    service: str
    status: str = Field(
        description="ok; refused (no valid token for it in DOWNSTREAM_TOKENS); failed; "
        "timeout; unreachable"
    )
    http_status: int | None = None


class DownstreamOut(BaseModel):
    services: list[ServiceStatus]
