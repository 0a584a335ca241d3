"""The supported combinations of template answers: every test that renders uses this list."""

from __future__ import annotations

DEFAULT: dict[str, str] = {}

# Every database x session_store pair; later options are varied one at a time from the default.
VARIANTS: dict[str, dict[str, str]] = {
    "sqlite-filesystem": {"database": "sqlite", "session_store": "filesystem"},
    "sqlite-redis": {"database": "sqlite", "session_store": "redis"},
    "postgresql-filesystem": {"database": "postgresql", "session_store": "filesystem"},
    "postgresql-redis": {"database": "postgresql", "session_store": "redis"},
    "mysql-filesystem": {"database": "mysql", "session_store": "filesystem"},
    "mysql-redis": {"database": "mysql", "session_store": "redis"},
    "celery": {"background_jobs": "celery"},
    "no-docker": {"use_docker": "no", "license": "proprietary"},
    "gitlab": {
        "ci": "gitlab",
        "license": "Apache-2.0",
        "database": "mysql",
        "session_store": "redis",
    },
    "no-ci": {"ci": "none", "license": "BSD-3-Clause"},
    "postgresql-redis-celery": {
        "database": "postgresql",
        "session_store": "redis",
        "background_jobs": "celery",
    },
    "custom-names": {
        "project_name": "Billing API",
        "correlation_header": "X-Trace-Token",
        "description": "Quotes \" and \\ backslashes ' survive",
        "author_name": "Zoë O'Brien",
    },
}
