"""The checks of what a request presents (a session cookie, an `Authorization` header), run
before its view in one `before_request` hook, in the order they were added.

Each check lives in the module whose concern it is (`sessions`: the store failed, `csrf`: a
forged write, `auth`: a remember cookie, `api_tokens`: a dead token) and is added by that
module's `init_app` with `add_check`. A request that sends neither a `Cookie` nor an
`Authorization` header presents nothing to check and runs none of them: most calls between
services, and every anonymous API call. One hook for all rather than one each: Flask's hook
machinery costs about a microsecond per hook on every request (docs/PERFORMANCE.md).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, request

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["add_check"]

_EXTENSION = "credential_checks"
# A check refuses a request by raising (`abort(...)`, or an error with a handler).
Check = Callable[[], None]


def add_check(app: Flask, check: Check) -> None:
    """Run `check` before the view of every request that sends a cookie or an
    `Authorization` header, after the checks added before it."""
    checks: list[Check] | None = app.extensions.get(_EXTENSION)
    if checks is None:
        checks = app.extensions[_EXTENSION] = []
        app.before_request(run_checks)
    checks.append(check)


def run_checks() -> None:
    environ = request.environ
    if "HTTP_COOKIE" not in environ and "HTTP_AUTHORIZATION" not in environ:
        return
    for check in current_app.extensions[_EXTENSION]:
        check()
