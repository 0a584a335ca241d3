"""Reject template answers that would render a broken service.

Only the free-text answers are checked here: cookiecutter itself refuses a choice that is not
listed in cookiecutter.json, the one place the choices are kept. copier runs the same rules,
as the validators of copier.yml (hooks/copier_extension.py).

Cookiecutter renders this file with Jinja and runs it before it writes anything else.
Each rule is a small function returning an error message (or None) so the template's
tests can import and exercise them directly. Standard library only: the hook runs in
whatever interpreter cookiecutter was installed into.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import unicodedata

# Top-level import names of every variant's installed dependencies, its development tools
# included: a package with one of these names would shadow the real module.
# tests/test_reserved_names.py collects them from every variant's environment and fails when
# one is missing here.
DEPENDENCY_MODULES = frozenset(
    {
        "alembic",
        "amqp",
        "annotated_types",
        "anyio",
        "apiflask",
        "apispec",
        "argon2",
        "ast_serialize",
        "attr",
        "attrs",
        "billiard",
        "blinker",
        "cachelib",
        "celery",
        "certifi",
        "cffi",
        "charset_normalizer",
        "click",
        "click_didyoumean",
        "click_plugins",
        "click_repl",
        "dateutil",
        "deprecated",
        "dns",
        "dotenv",
        "email_validator",
        "flask",
        "flask_httpauth",
        "flask_login",
        "flask_marshmallow",
        "flask_session",
        "flask_swagger_ui",
        "flask_wtf",
        "google",
        "graphql",
        "gunicorn",
        "h11",
        "harfile",
        "httpcore",
        "httpx",
        "hypothesis",
        "hypothesis_graphql",
        "idna",
        "iniconfig",
        "itsdangerous",
        "jinja2",
        "jsonschema",
        "jsonschema_path",
        "jsonschema_rs",
        "jsonschema_specifications",
        "kombu",
        "lazy_object_proxy",
        "librt",
        "limits",
        "mako",
        "markdown_it",
        "markupsafe",
        "marshmallow",
        "mdurl",
        "msgspec",
        "mypy",
        "mypy_extensions",
        "mypyc",
        "openapi_schema_validator",
        "openapi_spec_validator",
        "opentelemetry",
        "packaging",
        "pathable",
        "pathspec",
        "pluggy",
        "prometheus_client",
        "prompt_toolkit",
        "psycopg",
        "psycopg_binary",
        "py",
        "pycparser",
        "pydantic",
        "pydantic_core",
        "pydantic_settings",
        "pygments",
        "pymysql",
        "pyrate_limiter",
        "pytest",
        "pythonjsonlogger",
        "redis",
        "referencing",
        "requests",
        "rfc3339_validator",
        "rich",
        "rpds",
        "ruff",
        "schemathesis",
        "sentry_sdk",
        "six",
        "sortedcontainers",
        "sqlalchemy",
        "typing_extensions",
        "typing_inspection",
        "tzlocal",
        "urllib3",
        "vine",
        "wcwidth",
        "webargs",
        "werkzeug",
        "wrapt",
        "wtforms",
        "yaml",
    }
)
# Names that would collide with the generated project's own top-level folders.
PROJECT_DIRECTORIES = frozenset({"tests", "migrations", "docs", "instance", "scripts"})

# Headers the service or the HTTP stack already gives a meaning to.
RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "connection",
        "content-length",
        "content-type",
        "cookie",
        "host",
        "set-cookie",
        "traceparent",
        "tracestate",
        "transfer-encoding",
        "upgrade",
        "x-csrf-token",
    }
)

SLUG_RE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
PACKAGE_RE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
# RFC 9110 token characters.
HEADER_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# The canonical public version scheme of PEP 440.
VERSION_RE = re.compile(
    r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*((a|b|rc)(0|[1-9][0-9]*))?"
    r"(\.post(0|[1-9][0-9]*))?(\.dev(0|[1-9][0-9]*))?"
)
# Built, not written out: cookiecutter renders this file as a template first.
JINJA_MARKERS = tuple("{" + second for second in ("{", "%", "#"))
# A deliberately plain address check: what packaging metadata accepts, nothing exotic.
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def _free_text(value: str, max_length: int, *, required: bool) -> str | None:
    if required and not value.strip():
        return "must not be empty"
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    if value != value.strip():
        return "must not start or end with white space"
    if any(marker in value for marker in JINJA_MARKERS):
        # cookiecutter would run it as a template (copier would not): neither is a name.
        return f"must not contain {', '.join(JINJA_MARKERS)}"
    for char in value:
        if unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}:
            return "must be one line of printable text (no control or format characters)"
    return None


def check_project_name(value: str) -> str | None:
    return _free_text(value, 100, required=True)


def check_description(value: str) -> str | None:
    return _free_text(value, 300, required=False)


def check_author_name(value: str) -> str | None:
    return _free_text(value, 100, required=True)


def check_author_email(value: str) -> str | None:
    if len(value) > 254 or not EMAIL_RE.fullmatch(value):
        return "must be a plain e-mail address such as team@example.com"
    return None


def check_version(value: str) -> str | None:
    if not VERSION_RE.fullmatch(value):
        return "must be a PEP 440 version such as 0.1.0"
    return None


def _reserved_module(name: str) -> str | None:
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"'{name}' is a Python keyword"
    if name in sys.stdlib_module_names:
        return f"'{name}' is a standard-library module"
    if name in DEPENDENCY_MODULES:
        return f"'{name}' is the module of a dependency"
    if name in PROJECT_DIRECTORIES:
        return f"'{name}' is a folder of the generated project"
    return None


def check_project_slug(value: str) -> str | None:
    if len(value) > 64 or not SLUG_RE.fullmatch(value):
        return (
            "must be 1 to 64 lower-case letters, digits and single hyphens, "
            "starting with a letter (e.g. example-service)"
        )
    reserved = _reserved_module(value.replace("-", "_"))
    return f"must not name an existing package: {reserved}" if reserved else None


def check_package_name(value: str) -> str | None:
    if len(value) > 64 or not PACKAGE_RE.fullmatch(value):
        return (
            "must be 1 to 64 lower-case letters, digits and single underscores, "
            "starting with a letter (e.g. example_service)"
        )
    reserved = _reserved_module(value)
    return f"must not shadow an existing module: {reserved}" if reserved else None


def check_correlation_header(value: str) -> str | None:
    if len(value) > 64 or not HEADER_RE.fullmatch(value):
        return "must be an HTTP header name (RFC 9110 token, at most 64 characters)"
    if value.lower() in RESERVED_HEADERS:
        return f"'{value}' already has a meaning in HTTP or in this service"
    return None


CHECKS = {
    "project_name": check_project_name,
    "project_slug": check_project_slug,
    "package_name": check_package_name,
    "description": check_description,
    "author_name": check_author_name,
    "author_email": check_author_email,
    "version": check_version,
    "correlation_header": check_correlation_header,
}


def validate(answers: dict[str, object]) -> list[str]:
    """Return one message per bad answer, each naming the field and the rule."""
    errors = []
    for field, check in CHECKS.items():
        value = answers.get(field)
        problem = check(value) if isinstance(value, str) else "must be text"
        if problem:
            errors.append(f"{field}: {problem}")
    return errors


def check_python(version: tuple[int, ...]) -> str | None:
    """The post-generation hook reads the lock with tomllib, and the service needs 3.11 too."""
    if version < (3, 11):
        found = ".".join(str(part) for part in version[:3])
        return f"Python 3.11 or newer must run cookiecutter (this is {found}): install it there"
    return None


def main(answers: dict[str, object]) -> int:
    python = check_python(tuple(sys.version_info))
    errors = [f"python: {python}"] if python else validate(answers)
    if not errors:
        return 0
    rule = "=" * 78
    lines = [rule, "THE TEMPLATE REFUSED THESE ANSWERS; NOTHING WAS GENERATED", ""]
    lines += [f"ERROR: {error}" for error in errors]
    lines += [
        "",
        "Change the answers named above and run again. The traceback cookiecutter prints",
        "next (FailedHookException) only repeats that this check failed.",
        rule,
    ]
    print("\n".join(lines), file=sys.stderr)
    return 1


if __name__ == "__main__":
    # tojson escapes quotes and control characters, so any answer is a safe literal here.
    sys.exit(main(json.loads(r'{{ cookiecutter | tojson }}')))  # fmt: skip
