"""What an attacker tried once: private local files, {% if cookiecutter.session_store == "filesystem" %}expired session files pruned{% else %}no session id in Redis{% endif %},
correlation ids only from the headers a deployment trusts, other services known by name."""

from __future__ import annotations

{% if cookiecutter.session_store == "filesystem" -%}
import os
{% endif -%}
import re
import stat
{% if cookiecutter.session_store == "filesystem" -%}
import time
{% endif -%}
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
{%- if cookiecutter.session_store == "redis" %}
from redis import Redis
{%- endif %}

from {{ cookiecutter.package_name }}.core.config import ConfigError, from_environ, from_environ_optional
{%- if cookiecutter.database == "sqlite" %}
from {{ cookiecutter.package_name }}.core.db import get_database, upgrade
{%- endif %}

from .helpers import HEADER, {% if cookiecutter.session_store == "redis" %}SESSION_COOKIE, {% endif %}logged_in_client


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_local_folders_are_private(
    app_factory: Callable[..., Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(SESSION_DIR=str(tmp_path / "sessions"))
    assert mode(Path(app.instance_path)) == 0o700
{%- if cookiecutter.session_store == "filesystem" %}
    assert mode(tmp_path / "sessions") == 0o700
    logged_in_client(app)
    assert all(mode(path) == 0o600 for path in (tmp_path / "sessions").iterdir())
{%- endif %}
{%- if cookiecutter.database == "sqlite" %}


def test_the_database_file_is_private(app_factory: Callable[..., Flask], tmp_path: Path) -> None:
    """It holds password hashes: readable by the service's user only, like its WAL files."""
    database = tmp_path / "private.sqlite3"
    app = app_factory(DATABASE_URL=f"sqlite:///{database}")
    upgrade(get_database(app).engine)
    created = [database, *tmp_path.glob("private.sqlite3-*")]
    assert all(mode(path) == 0o600 for path in created), {p.name: oct(mode(p)) for p in created}
{%- endif %}
{%- if cookiecutter.session_store == "filesystem" %}


def test_expired_session_files_are_pruned(
    app_factory: Callable[..., Flask], tmp_path: Path
) -> None:
    sessions = tmp_path / "sessions"
    app = app_factory(SESSION_DIR=str(sessions))
    logged_in_client(app)
    logged_in_client(app)
    old, fresh = sorted(sessions.iterdir())
    past = time.time() - app.permanent_session_lifetime.total_seconds() - 60
    os.utime(old, (past, past))
    result = app.test_cli_runner().invoke(args=["prune-sessions"])
    assert result.exit_code == 0, result.output
    assert "Removed 1 expired session files." in result.output
    assert sorted(sessions.iterdir()) == [fresh]
{%- else %}


def test_redis_never_holds_a_session_id(app_factory: Callable[..., Flask], redis_url: str) -> None:
    """Whoever can list this Redis's keys learns no session id: sessions live under a hash."""
    app = app_factory()
    client, _token = logged_in_client(app)
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    prefix = app.config["SESSION_KEY_PREFIX"]
    store = Redis.from_url(redis_url)
    try:
        keys = [key.decode() for key in store.scan_iter(match=f"{prefix}*")]
    finally:
        store.close()
    assert keys and not any(cookie.value in key for key in keys)
    assert all(re.fullmatch(re.escape(prefix) + "[0-9a-f]{64}", key) for key in keys)
    assert client.get("/auth/me").status_code == 200
{%- endif %}


@pytest.mark.parametrize(
    ("setting", "trusted"),
    [
        ([], None),  # an edge service: every id is its own
        (["X-Request-ID"], "X-Request-ID"),  # only the proxy's
    ],
)
def test_a_deployment_chooses_which_incoming_ids_to_trust(
    app_factory: Callable[..., Flask], setting: list[str], trusted: str | None
) -> None:
    client = app_factory(CORRELATION_ID_HEADERS=setting).test_client()
    sent = {HEADER: "from-the-client", "X-Request-ID": "from-the-proxy"}
    echoed = client.get("/healthz", headers=sent).headers[HEADER]
    if trusted is None:
        assert re.fullmatch("[0-9a-f]{32}", echoed)
    else:
        assert echoed == sent[trusted]


def test_correlation_headers_from_the_environment() -> None:
    assert from_environ_optional({}) == {}
    assert from_environ_optional({"CORRELATION_ID_HEADERS": ""}) == {"CORRELATION_ID_HEADERS": []}
    assert from_environ_optional({"CORRELATION_ID_HEADERS": "X-Request-ID, traceparent"}) == {
        "CORRELATION_ID_HEADERS": ["X-Request-ID", "traceparent"]
    }
    with pytest.raises(ConfigError, match="CORRELATION_ID_HEADERS"):
        from_environ_optional({"CORRELATION_ID_HEADERS": "X-Bad:Header"})


def test_other_services_are_known_by_name(tmp_path: Path) -> None:
    environ = {
        "APP_ENV": "testing",
        "DOWNSTREAM_URLS": "billing=https://billing.internal/api?a=b, https://other.internal",
    }
    services = from_environ(environ, str(tmp_path))["DOWNSTREAM_URLS"]
    assert services == {
        "billing": "https://billing.internal/api?a=b",
        "service-2": "https://other.internal",
    }
    for wrong in ("billing=ftp://x", "https://", "a=https://x a=https://y"):
        with pytest.raises(ConfigError, match="DOWNSTREAM_URLS"):
            from_environ({**environ, "DOWNSTREAM_URLS": wrong}, str(tmp_path))


@pytest.mark.parametrize("name", ["PASSWORD_HASH_CONCURRENCY", "DOWNSTREAM_DEADLINE_SECONDS"])
def test_settings_that_would_refuse_every_request_are_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=name):
        from_environ({"APP_ENV": "testing", name: "0"}, str(tmp_path))
