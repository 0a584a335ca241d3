"""The context this service's work carries: the class to extend.

Every request, `flask` command, background thread{% if cookiecutter.background_jobs == "celery" %} and Celery job{% endif %} gets one `ServiceContext`
(`core/context.py` builds it on first use and keeps it for that unit of work only). Add what
every unit of work of this service should carry (a tenant, a feature-flag set, an API
client's name...) as properties computed on first read, so that requests which never ask pay
nothing:

    @property
    def tenant(self) -> str | None:
        return request.headers.get("X-Tenant") if has_request_context() else None

`current_context.tenant` is then available in views, commands and log filters. Work that
leaves the request (a thread, a job) gets a context rebuilt from `snapshot()`: to carry a new
field there too, add it to `snapshot` and `from_snapshot`.
"""

from __future__ import annotations

from typing import cast

from .core import context


class ServiceContext(context.Context):
    """This service's context: correlation id, user and request metadata, and what you add."""


current_context = cast(ServiceContext, context.current_context)
