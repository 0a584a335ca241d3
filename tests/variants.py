"""The supported combinations of template answers: every test that renders uses this list.

Every combination of the answers that change the generated code (database x session_store x
background_jobs, twelve in all) is a variant of its own, and so are the observability
options (tracing; metrics with error_reporting), apart and together with the servers; the answers
that only add or drop files (use_docker, ci, license) and the free-text answers are varied
one at a time from the default.
"""

from __future__ import annotations

from itertools import product

DEFAULT: dict[str, str] = {}
DATABASES = ("sqlite", "postgresql", "mysql")
SESSION_STORES = ("filesystem", "redis")
BACKGROUND_JOBS = ("none", "celery")

CODE_VARIANTS: dict[str, dict[str, str]] = {
    f"{database}-{store}" + ("-celery" if jobs == "celery" else ""): {
        "database": database,
        "session_store": store,
        "background_jobs": jobs,
    }
    for database, store, jobs in product(DATABASES, SESSION_STORES, BACKGROUND_JOBS)
}

# The observability options add code of their own: each alone on the defaults, and all
# together with every server they meet (PostgreSQL, Redis sessions, Celery jobs).
CODE_VARIANTS.update(
    {
        "tracing": {"tracing": "opentelemetry"},
        # Sentry rides with metrics: neither changes what the other renders.
        "metrics": {"metrics": "prometheus", "error_reporting": "sentry"},
        "postgresql-redis-celery-observability": {
            "database": "postgresql",
            "session_store": "redis",
            "background_jobs": "celery",
            "tracing": "opentelemetry",
            "metrics": "prometheus",
            "error_reporting": "sentry",
        },
    }
)

FILE_VARIANTS: dict[str, dict[str, str]] = {
    "no-docker": {"use_docker": "no", "license": "proprietary"},
    "gitlab": {
        "ci": "gitlab",
        "license": "Apache-2.0",
        "database": "mysql",
        "session_store": "redis",
    },
    "no-ci": {"ci": "none", "license": "BSD-3-Clause"},
    "custom-names": {
        "project_name": "Billing API",
        "correlation_header": "X-Trace-Token",
        "description": "Quotes \" and \\ backslashes ' survive",
        "author_name": "Zoë O'Brien",
    },
}

VARIANTS: dict[str, dict[str, str]] = {**CODE_VARIANTS, **FILE_VARIANTS}
# The variants whose Python code differs: the code variants, and the free-text answers that
# reach the code. The others render code identical to a code variant's (test_render checks
# it), so their suites would only repeat one.
SUITE_VARIANTS: dict[str, dict[str, str]] = {
    name: answers
    for name, answers in VARIANTS.items()
    if name in CODE_VARIANTS or name == "custom-names"
}


def code_variant_of(answers: dict[str, str]) -> str:
    """The code variant whose Python code a file variant shares."""
    database = answers.get("database", DATABASES[0])
    store = answers.get("session_store", SESSION_STORES[0])
    jobs = answers.get("background_jobs", BACKGROUND_JOBS[0])
    return f"{database}-{store}" + ("-celery" if jobs == "celery" else "")
