"""Passwords: the rules a new password must meet, and hashing with Argon2id.

The parameters are OWASP's recommended minimum for Argon2id (19 MiB of memory, 2 passes, 1
lane): about a tenth of the CPU of argon2-cffi's defaults, which made each login cost 0.3 s
of CPU. Hashes made with other parameters are upgraded at the next login (`needs_rehash`).
Hashing is capped per worker process (`PASSWORD_HASH_CONCURRENCY`): a burst of logins waits
briefly and then gets a 503, instead of taking the CPU from every other request.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, Response, current_app, has_app_context

from .errors import error_response
from .payload import text_problem

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = [
    "PASSWORD_MAX_LENGTH",
    "PasswordHashingBusyError",
    "hash_password",
    "init_app",
    "needs_rehash",
    "password_problem",
    "verify_password",
    "warm_up",
]

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 1024
# How long a login waits for a free hashing slot before it is refused with a 503.
HASH_WAIT_SECONDS = 0.25
_EXTENSION = "password_hashing"
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class PasswordHashingBusyError(RuntimeError):
    """Every hashing slot of this worker stayed busy: try again in a moment (503)."""


@cache
def common_passwords() -> frozenset[str]:
    """Passwords from the top of public breach lists: the first ones any attacker tries."""
    text = files(__package__).joinpath("common_passwords.txt").read_text()
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def password_problem(password: str, *, new: bool) -> str | None:
    """What is wrong with a password, or None. Logging in checks the shape (`new=False`);
    setting a password also the length and the list of common passwords."""
    problem = text_problem(password, max_length=PASSWORD_MAX_LENGTH)
    if problem is not None or not new:
        return problem
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"must have at least {PASSWORD_MIN_LENGTH} characters"
    if password.strip().lower() in common_passwords():
        return "is one of the most common passwords; choose another"
    return None


def hashing_slots(app: Flask) -> threading.BoundedSemaphore:
    """The app's hashing slots: one per password hash computed at once in this process."""
    slots: threading.BoundedSemaphore = app.extensions[_EXTENSION]
    return slots


@contextmanager
def _hashing_slot() -> Iterator[None]:
    slots: threading.BoundedSemaphore | None = (
        current_app.extensions.get(_EXTENSION) if has_app_context() else None
    )
    if slots is None:  # outside the app (a script): nothing to share the CPU with
        yield
        return
    if not slots.acquire(timeout=HASH_WAIT_SECONDS):
        raise PasswordHashingBusyError("every password hashing slot of this worker is busy")
    try:
        yield
    finally:
        slots.release()


def hash_password(password: str) -> str:
    with _hashing_slot():
        return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("an unknown account still costs one verification")


def warm_up() -> None:
    _dummy_hash()


def _matches(password_hash: str, password: str) -> bool:
    try:
        with _hashing_slot():
            return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against a hash; `None` stands for an account that does not exist."""
    if password_hash is None:
        # An unknown account must cost what a wrong password costs, or timing reveals it.
        _matches(_dummy_hash(), password)
        return False
    return _matches(password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def handle_busy(_error: PasswordHashingBusyError) -> Response:
    response = error_response(503, "busy", "Too many logins at once; try again in a moment.")
    response.headers["Retry-After"] = "1"
    return response


def init_app(app: Flask) -> None:
    """Reads PASSWORD_HASH_CONCURRENCY."""
    concurrency = app.config["PASSWORD_HASH_CONCURRENCY"]
    app.extensions[_EXTENSION] = threading.BoundedSemaphore(concurrency)
    app.register_error_handler(PasswordHashingBusyError, handle_busy)
