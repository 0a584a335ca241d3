"""What an attacker tried once: a private instance folder (the database's and the session
store's own files: test_database.py, test_session_store.py), correlation ids only from the
headers a deployment trusts, other services known by name."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from {{ cookiecutter.package_name }}.core.config import ConfigError, from_environ

from .helpers import HEADER, file_mode


def test_local_folders_are_private(
    app_factory: Callable[..., Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory()
    assert file_mode(Path(app.instance_path)) == 0o700


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


def test_correlation_headers_from_the_environment(tmp_path: Path) -> None:
    def headers(environ: dict[str, str]) -> object:
        return from_environ(environ, str(tmp_path)).get("CORRELATION_ID_HEADERS")

    assert headers({}) is None  # the context's own default
    assert headers({"CORRELATION_ID_HEADERS": ""}) == []
    assert headers({"CORRELATION_ID_HEADERS": "X-Request-ID, traceparent"}) == [
        "X-Request-ID",
        "traceparent",
    ]
    with pytest.raises(ConfigError, match="CORRELATION_ID_HEADERS"):
        headers({"CORRELATION_ID_HEADERS": "X-Bad:Header"})


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
