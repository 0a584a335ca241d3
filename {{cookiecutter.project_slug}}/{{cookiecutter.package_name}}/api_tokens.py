"""API tokens: the callers that are other services. A token authenticates a request through
flask-login's request loader, so `current_user` and `current_context.user_id` are the token's
owner, exactly as with a session. What a token is and what a token request may not do is in
core/tokens.py; here are whose tokens they are, the `create-token`, `list-tokens` and
`revoke-token` commands, and `/auth/tokens`, where a signed-in user manages their own
(with a session: a token cannot make or revoke tokens, so a leaked one cannot outlive its
revocation by minting another).

Every check reads the database: a revoked (deleted) or expired token is refused from the
next request on, by every worker and instance, with nothing cached to outlive it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from apiflask import APIBlueprint
from flask import Flask, Request, abort, current_app
from flask_login import current_user
from pydantic import ValidationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from .auth import login_manager, login_required
from .context import current_context
from .core import upkeep
from .core.api import SESSION_WRITE, SIGNED_IN, json_body
from .core.context import with_correlation_id
from .core.credentials import add_check
from .core.db import MAX_ID, get_db
from .core.tokens import (
    lifetime,
    mark_token_request,
    new_token,
    presented_token,
    refuse_dead_tokens,
    refuse_token_requests,
    token_digest,
)
from .models import ApiToken, User
from .schemas import NewTokenOut, TokenCreate, TokenList, TokenOut
from .users import normalize_email

bp = APIBlueprint("tokens", __name__, url_prefix="/auth/tokens")


class TokenNameTakenError(ValueError):
    pass


class TooManyTokensError(ValueError):
    pass


def create_token(user: User, name: str, lifetime: timedelta | None) -> tuple[str, ApiToken]:
    """A new token for `user`: the token itself (shown once, never stored) and its record.
    A user holds at most MAX_API_TOKENS_PER_USER (expired ones count until revoked)."""
    held = get_db().scalar(
        select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id)
    )
    most = current_app.config["MAX_API_TOKENS_PER_USER"]
    if held is not None and held >= most:
        raise TooManyTokensError(most)
    token = new_token()
    expires_at = datetime.now(UTC) + lifetime if lifetime is not None else None
    record = ApiToken(
        user_id=user.id, name=name, token_hash=token_digest(token), expires_at=expires_at
    )
    db = get_db()
    db.add(record)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise TokenNameTakenError(name) from None
    return token, record


def load_user_from_token(request: Request) -> User | None:
    """flask-login's request loader: the owner of a live token, or None."""
    token = presented_token(request.environ)
    if token is None:
        return None
    live = select(User, ApiToken.name).join(ApiToken, ApiToken.user_id == User.id)
    live = live.where(
        ApiToken.token_hash == token_digest(token),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > datetime.now(UTC)),
    )
    found = get_db().execute(live).first()
    if found is None:
        return None
    user, name = found
    mark_token_request(user.get_id(), name)
    current_context.identify(user.get_id())
    return user


@bp.get("")
@login_required
@bp.output(TokenList)
@bp.doc(security=SIGNED_IN)
def list_tokens() -> TokenList:
    """Your API tokens (never the tokens themselves)"""
    records = get_db().scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id)
    )
    return TokenList(tokens=[TokenOut.model_validate(record) for record in records])


@bp.post("")
@login_required
@json_body(bp, TokenCreate)
@bp.output(NewTokenOut, status_code=201)
@bp.doc(security=SESSION_WRITE, responses=[403, 409])
def create_token_view(body: TokenCreate) -> tuple[NewTokenOut, int]:
    """Create an API token for yourself; the response is the only time it is shown"""
    refuse_token_requests()
    try:
        token, record = create_token(current_user, body.name, lifetime(body.expires_in))
    except TokenNameTakenError:
        abort(409, description=f"You already have a token named {body.name!r}.")
    except TooManyTokensError as error:
        abort(409, description=f"You hold {error} tokens, the most allowed: revoke one first.")
    return NewTokenOut(**TokenOut.model_validate(record).model_dump(), token=token), 201


@bp.delete("/<int:token_id>")
@login_required
@bp.output({}, status_code=204)
@bp.doc(security=SESSION_WRITE, responses=[403, 404])
def revoke_token_view(token_id: int) -> tuple[str, int]:
    """Revoke one of your API tokens: refused from the next request on"""
    refuse_token_requests()
    db = get_db()
    revoked = db.execute(
        delete(ApiToken).where(
            ApiToken.id == min(token_id, MAX_ID), ApiToken.user_id == current_user.id
        )
    )
    if revoked.rowcount != 1:  # type: ignore[attr-defined]
        abort(404, description="You have no such token.")
    db.commit()
    return "", 204


def find_user(email: str) -> User:
    user = get_db().scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise click.ClickException(f"There is no user with e-mail {email}.")
    return user


@click.command("create-token")
@with_correlation_id
@click.argument("email")
@click.option("--name", required=True, help="Unique among the user's tokens, e.g. billing.")
@click.option("--expires-in", default="90d", show_default=True, help="90d, 12h, 30m or never.")
def create_token_command(email: str, name: str, expires_in: str) -> None:
    """Create an API token for the user EMAIL and print it (only a hash is kept)."""
    try:  # the API's rules
        TokenCreate.model_validate({"name": name, "expires_in": expires_in})
    except ValidationError as error:
        problem = error.errors()[0]
        option = "--" + str(problem["loc"][0]).replace("_", "-")
        raise click.BadParameter(problem["msg"], param_hint=option) from None
    try:
        token, record = create_token(find_user(email), name, lifetime(expires_in))
    except TokenNameTakenError:
        raise click.ClickException(f"{email} already has a token named {name!r}.") from None
    except TooManyTokensError as error:
        raise click.ClickException(
            f"{email} holds {error} tokens, the most allowed (MAX_API_TOKENS_PER_USER): "
            "revoke one first."
        ) from None
    expires = record.expires_at.isoformat() if record.expires_at else "never"
    click.echo(f"Created token {name!r} for {email}, expires: {expires}. Shown once:", err=True)
    click.echo(token)


@click.command("list-tokens")
@with_correlation_id
@click.argument("email", required=False)
def list_tokens_command(email: str | None) -> None:
    """List the API tokens (of EMAIL, or of everyone): names and dates, never the tokens."""
    query = select(ApiToken, User.email).join(User).order_by(User.email, ApiToken.name)
    if email is not None:
        query = query.where(User.id == find_user(email).id)
    now = datetime.now(UTC)
    for record, owner in get_db().execute(query):
        expires_at = record.expires_at
        if expires_at is not None and expires_at.tzinfo is None:  # SQLite keeps no zone
            expires_at = expires_at.replace(tzinfo=UTC)
        state = "never expires" if expires_at is None else f"expires {expires_at.isoformat()}"
        if expires_at is not None and expires_at <= now:
            state = f"expired {expires_at.isoformat()}"
        click.echo(f"{record.id}\t{owner}\t{record.name}\t{state}")


@click.command("revoke-token")
@with_correlation_id
@click.argument("email")
@click.option("--name", required=True, help="The token's name (list-tokens shows them).")
def revoke_token_command(email: str, name: str) -> None:
    """Revoke the API token NAME of the user EMAIL: refused from the next request on."""
    db = get_db()
    revoked = db.execute(
        delete(ApiToken).where(ApiToken.user_id == find_user(email).id, ApiToken.name == name)
    )
    if revoked.rowcount != 1:  # type: ignore[attr-defined]
        raise click.ClickException(f"{email} has no token named {name!r}.")
    db.commit()
    click.echo(f"Revoked token {name!r} of {email}.")


def prune_expired_tokens() -> int:
    """Delete the tokens past their expiry (an upkeep task: `flask prune`)."""
    db = get_db()
    removed = db.execute(delete(ApiToken).where(ApiToken.expires_at < datetime.now(UTC)))
    db.commit()
    return int(removed.rowcount)  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    """Reads MAX_API_TOKENS_PER_USER (when a token is made)."""
    upkeep.register(app, "expired API tokens", prune_expired_tokens)
    login_manager.request_loader(load_user_from_token)
    # After auth's check of the remember cookie, which flask-login would read first.
    add_check(app, refuse_dead_tokens)
    app.register_blueprint(bp)
    for command in (create_token_command, list_tokens_command, revoke_token_command):
        app.cli.add_command(command)
