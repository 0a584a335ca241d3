"""Limits on failed logins, so that passwords cannot be guessed and users cannot be locked out.

Only failures count: a user who logs in with the right password is never limited by their
own logins. Three counters, each answering 429 JSON with Retry-After when used up:

- per client address (`LOGIN_RATE_LIMIT_PER_CLIENT`): one address trying many accounts;
- per account and client address (`LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT`): one address
  trying one account. An attacker's failures lock only their own address out of that
  account, never the user's;
- per account (`LOGIN_RATE_LIMIT_PER_ACCOUNT`), a much higher ceiling: many addresses trying
  one account. It is set well above what one address may fail (1000 an hour against 5 a
  minute), so keeping an account locked takes several addresses failing without pause.

When the counter store is down, logging in fails closed: every attempt is a 503, before any
password is checked, so a right password cannot be told from a wrong one. Accounts are
counted under a keyed hash of the normalized e-mail: keys have a bounded size and no address
is stored. An IPv6 client counts as its /64 network, which one machine usually holds whole.
{% if cookiecutter.session_store == "redis" %}
The counters live in Redis, shared by every instance (RATELIMIT_STORAGE_URI, default
REDIS_URL).
{%- else %}
The counters live in each worker's memory by default
(RATELIMIT_STORAGE_URI=memory://): with several workers an attacker gets that many times the
limit. To share them, add the `redis` package and point RATELIMIT_STORAGE_URI at a Redis.
{%- endif %}

A view uses it where it is defined: `login_guard().check(email)` before the password is
checked, `login_guard().failed(email)` when it was wrong. Built on `limits`, the library under
Flask-Limiter, rather than on Flask-Limiter, which counts requests rather than failures and
whose hooks run on every request of the app.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from flask import Flask, Response, after_this_request, current_app, g, request
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from .config import ConfigError
from .errors import register_unavailable

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["count_write", "init_app", "login_guard"]

_EXTENSION = "login_guard"
_WRITES = "write_limit"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The attempts a login reserved, until it is known whether it failed.
G_RESERVED = "login_attempts_reserved"
# A device cookie lasts a year; a longer value is not one this service made.
DEVICE_LIFETIME = 365 * 24 * 3600
MAX_DEVICE_COOKIE = 200
log = logging.getLogger(__name__)


class LimitStoreUnavailableError(RuntimeError):
    """The counter store did not answer: logging in must wait (503)."""


def account_key(email: str, secret: str) -> str:
    """A bounded, stable key for an account: a keyed hash of the normalized e-mail, which
    nobody without SECRET_KEY can match against a list of addresses."""
    return hashlib.blake2b(
        email.strip().lower().encode(), digest_size=16, key=secret.encode()[:64]
    ).hexdigest()


def client_key(address: str | None) -> str:
    """The client's address, its /64 network for IPv6; bounded whatever the header said."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class LoginGuard:
    storage: Storage
    limiter: FixedWindowRateLimiter
    per_client: RateLimitItem
    per_account_and_client: RateLimitItem
    per_account: RateLimitItem
    secret: str
    device_cookie: str
    secure_cookie: bool

    def account(self, email: str) -> str:
        return account_key(email, self.secret)

    def _devices(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt="login-device")

    def known_device(self, account: str) -> bool:
        """Whether this browser logged in to `account` before (OWASP's device cookie)."""
        cookie = request.cookies.get(self.device_cookie)
        if not cookie or len(cookie) > MAX_DEVICE_COOKIE:
            return False
        try:
            return bool(self._devices().loads(cookie, max_age=DEVICE_LIFETIME) == account)
        except BadData:
            return False

    def _counters(self, account: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        """Each limit with what it counts under, its scope first. A device the owner logged
        in from is not counted per account: failures from everywhere else cannot lock it out."""
        client = client_key(request.remote_addr)
        counters = [
            (self.per_client, ("client", client)),
            (self.per_account_and_client, ("account-client", account, client)),
        ]
        if not self.known_device(account):
            counters.append((self.per_account, ("account", account)))
        return counters

    def check(self, email: str) -> None:
        """Reserve this attempt on every counter, atomically: 429 when one is used up (a
        burst of parallel guesses gets no more than the limit), 503 when the store is down.
        The reservation stands as a failure unless `succeeded` gives it back."""
        account = self.account(email)
        reserved = g.setdefault(G_RESERVED, [])
        for limit, identifiers in self._counters(account):
            try:
                allowed = self.limiter.hit(limit, *identifiers)
                reserved.append((limit, identifiers))
                if allowed:
                    continue
                reset_at = self.limiter.get_window_stats(limit, *identifiers).reset_time
                self._give_back()
            except Exception as error:
                raise LimitStoreUnavailableError(type(error).__name__) from error
            log.warning(
                "login refused",
                extra={"event": "login_refused", "account": account, "limit": identifiers[0]},
            )
            retry_after = max(1, math.ceil(reset_at - time.time()))
            raise TooManyRequests(
                "Too many failed logins; try again later.", retry_after=retry_after
            )

    def _give_back(self) -> None:
        """Return the attempts `check` reserved: only failures count."""
        # A counter whose window ended meanwhile starts the next at -1: one attempt more.
        for limit, identifiers in g.pop(G_RESERVED, []):
            self.storage.incr(limit.key_for(*identifiers), limit.get_expiry(), amount=-1)

    def failed(self, email: str) -> None:
        """The attempt was wrong: its reservation stays counted; a security event."""
        g.pop(G_RESERVED, None)
        account = self.account(email)
        log.warning("login failed", extra={"event": "login_failed", "account": account})

    def succeeded(self, email: str) -> None:
        """The attempt was right: it does not count, and this browser becomes a known device
        of the account (a cookie for the login path only, signed, for a year)."""
        try:
            self._give_back()
        except Exception as error:  # the login stands; the counter expires with its window
            log.warning("login counter not given back", extra={"error_type": type(error).__name__})
        cookie = self._devices().dumps(self.account(email))

        @after_this_request
        def remember_device(response: Response) -> Response:
            if response.status_code >= 400:  # the login did not complete (its session failed)
                return response
            response.set_cookie(
                self.device_cookie,
                cookie,
                max_age=DEVICE_LIFETIME,
                secure=self.secure_cookie,
                httponly=True,
                samesite="Strict",
            )
            return response


@dataclass(frozen=True)
class WriteLimit:
    """Writes (POST, PUT, PATCH, DELETE) per caller: a signed-in user's session, or one API
    token. Counted where each kind of caller is recognized (core/csrf.py for sessions,
    core/tokens.py for tokens), so that reads, probes and anonymous requests pay nothing;
    anonymous writes (logging in) have their own limits above."""

    limiter: FixedWindowRateLimiter
    limit: RateLimitItem

    def count(self, *caller: str) -> None:
        try:
            allowed = self.limiter.hit(self.limit, "writes", *caller)
        except Exception as error:
            # A fairness limit, not a lock: an outage of its store lets writes through.
            log.warning("write limit unchecked", extra={"error_type": type(error).__name__})
            return
        if not allowed:
            reset_at = self.limiter.get_window_stats(self.limit, "writes", *caller).reset_time
            log.warning("writes refused", extra={"event": "writes_refused", "caller": caller[0]})
            raise TooManyRequests(
                "Too many writes from this caller; try again later.",
                retry_after=max(1, math.ceil(reset_at - time.time())),
            )


def count_write(*caller: str) -> None:
    """Count a write of `caller` (its kind, then what names it): 429 past the limit. Reads
    (GET, HEAD, OPTIONS) are not counted."""
    if request.method not in SAFE_METHODS:
        write_limit: WriteLimit = current_app.extensions[_WRITES]
        write_limit.count(*caller)


def login_guard() -> LoginGuard:
    guard: LoginGuard = current_app.extensions[_EXTENSION]
    return guard


def _limit(app: Flask, name: str) -> RateLimitItem:
    try:
        return parse(app.config[name])
    except ValueError:
        raise ConfigError(f"{name} must look like 5/minute, not {app.config[name]!r}") from None


def init_app(app: Flask) -> None:
    """Reads RATELIMIT_STORAGE_URI, RATELIMIT_KEY_PREFIX, LOGIN_RATE_LIMIT_PER_CLIENT,
    LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT, LOGIN_RATE_LIMIT_PER_ACCOUNT,
    WRITE_RATE_LIMIT_PER_CALLER, SECRET_KEY and the session cookie's settings (core/sessions.py
    sets them first)."""
    uri = app.config["RATELIMIT_STORAGE_URI"]
    options: dict[str, float | str | bool] = {"key_prefix": app.config["RATELIMIT_KEY_PREFIX"]}
    if uri.startswith(("redis://", "rediss://")):
        # As for the session store: an outage must fail in well under a second.
        options |= {"socket_connect_timeout": 0.3, "socket_timeout": 0.3}
    storage = storage_from_string(uri, **options)
    if not isinstance(storage, Storage):
        raise ConfigError(f"RATELIMIT_STORAGE_URI names an asyncio store ({uri.split(':')[0]})")
    limiter = FixedWindowRateLimiter(storage)
    app.extensions[_EXTENSION] = LoginGuard(
        storage=storage,
        limiter=limiter,
        per_client=_limit(app, "LOGIN_RATE_LIMIT_PER_CLIENT"),
        per_account_and_client=_limit(app, "LOGIN_RATE_LIMIT_PER_ACCOUNT_AND_CLIENT"),
        per_account=_limit(app, "LOGIN_RATE_LIMIT_PER_ACCOUNT"),
        secret=app.config["SECRET_KEY"],
        # Named like the session cookie: __Host- (Secure, this host, every path) in production.
        device_cookie=app.config["SESSION_COOKIE_NAME"].replace("_session", "_device"),
        secure_cookie=app.config["SESSION_COOKIE_SECURE"],
    )
    register_unavailable(
        app, (LimitStoreUnavailableError,), "login limit store", "RATELIMIT_STORAGE_URI"
    )
    app.extensions[_WRITES] = WriteLimit(limiter, _limit(app, "WRITE_RATE_LIMIT_PER_CALLER"))
