"""Users: creating accounts and checking credentials, for the API and the CLI alike."""

from __future__ import annotations

import contextlib

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .core.context import with_correlation_id
from .core.db import get_db
from .core.passwords import (
    PasswordHashingBusyError,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
    warm_up,
)
from .models import User


class UserExistsError(ValueError):
    pass


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(email: str, password: str) -> User:
    db = get_db()
    user = User(email=normalize_email(email), password_hash=hash_password(password))
    db.add(user)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        raise UserExistsError(email) from None
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user whose credentials these are, or None; timing does not tell which part failed."""
    db = get_db()
    user = db.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        verify_password(None, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        # Upgrading the hash can wait for another login; the user who logged in cannot.
        with contextlib.suppress(PasswordHashingBusyError):
            user.password_hash = hash_password(password)
            db.commit()
    return user


@click.command("create-user")
@with_correlation_id
@click.argument("email")
@click.password_option(help="Asked for (twice, hidden) when not given.")
def create_user_command(email: str, password: str) -> None:
    """Create a user who can log in with EMAIL and the password."""
    if "@" not in email:
        raise click.BadParameter("must be an e-mail address", param_hint="EMAIL")
    problem = password_problem(password, new=True)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="password")
    try:
        user = create_user(email, password)
    except UserExistsError:
        raise click.ClickException(f"A user with e-mail {email} already exists.") from None
    click.echo(f"Created user {user.id} <{user.email}>.")


def init_app(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    # Pay for the unknown-account hash now, not on the first failed login (timing).
    warm_up()
