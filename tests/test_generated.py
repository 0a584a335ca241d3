"""Each supported variant, rendered: its own linters and test suite pass against real servers,
and the service starts with `flask run` and serves a logged-in request."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest

from support.rendering import newest_python, render, run
from support.servers import REDIS_URL, require, throwaway_database, throwaway_redis_namespace
from support.services import Client, Service

from .variants import SUITE_VARIANTS

pytestmark = pytest.mark.slow
Environment = Callable[[Path], Path]


def needs(variant: dict[str, str]) -> list[str]:
    servers = []
    if variant.get("database", "sqlite") != "sqlite":
        servers.append(variant["database"])
    if variant.get("session_store") == "redis" or variant.get("background_jobs") == "celery":
        servers.append("redis")
    return servers


def test_the_default_variant_passes_its_suite_on_the_images_python(
    tmp_path: Path, environment_for: Callable[..., Path]
) -> None:
    """The suites above run on the oldest Python requires-python allows; the Dockerfile's
    (the newest) runs the default variant's too."""
    project = render(tmp_path)
    python = newest_python()
    bin_dir = environment_for(project, python) / "bin"
    version = run([str(bin_dir / "python"), "--version"], cwd=project).stdout
    assert version.startswith("Python 3.13"), version
    run([str(bin_dir / "mypy")], cwd=project)
    result = run(
        [str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary, summary


@pytest.mark.parametrize("variant", sorted(SUITE_VARIANTS))
def test_project_passes_its_own_lint_types_and_tests(
    tmp_path: Path, environment_for: Environment, variant: str
) -> None:
    for server in needs(SUITE_VARIANTS[variant]):
        require(server)
    project = render(tmp_path, SUITE_VARIANTS[variant])
    bin_dir = environment_for(project) / "bin"
    run([str(bin_dir / "ruff"), "check", "."], cwd=project)
    run([str(bin_dir / "ruff"), "format", "--check", "."], cwd=project)
    run([str(bin_dir / "mypy")], cwd=project)
    result = run(
        [
            str(bin_dir / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error::DeprecationWarning",
        ],
        cwd=project,
        env={"TEST_REDIS_URL": REDIS_URL},
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary, summary
    if os.environ.get("CI"):
        assert "skipped" not in summary, result.stdout


@pytest.mark.parametrize("variant", sorted(SUITE_VARIANTS))
def test_service_starts_with_flask_run_and_serves(
    tmp_path: Path, environment_for: Environment, variant: str
) -> None:
    answers = SUITE_VARIANTS[variant]
    for server in needs(answers):
        require(server)
    project = render(tmp_path, answers)
    bin_dir = environment_for(project) / "bin"
    package = project.name.replace("-", "_")
    header = answers.get("correlation_header", "X-Correlation-ID")
    python = bin_dir / "python"
    with ExitStack() as stack:
        env = {"APP_ENV": "development", "SECRET_KEY": secrets.token_urlsafe(48)}
        if answers.get("database", "sqlite") != "sqlite":
            env["DATABASE_URL"] = stack.enter_context(
                throwaway_database(python, answers["database"])
            )
        if "redis" in needs(answers):
            namespace = stack.enter_context(throwaway_redis_namespace(python))
            env["REDIS_URL"] = env["CELERY_BROKER_URL"] = REDIS_URL
            env["SESSION_KEY_PREFIX"] = f"{namespace}:session:"
            env["RATELIMIT_KEY_PREFIX"] = f"{namespace}:ratelimit"
            env["CELERY_QUEUE"] = namespace
        flask = [str(bin_dir / "flask"), "--app", package]
        run([*flask, "init-db"], cwd=project, env=env)
        run(
            [*flask, "create-user", "ada@example.com", "--password", "pw-0123456789"],
            cwd=project,
            env=env,
        )
        service = Service(project, [*flask, "run"], env)
        service.command += ["--port", str(service.port)]
        stack.callback(service.stop)
        service.start()
        client = Client(service.url)
        login = {"email": "ada@example.com", "password": "pw-0123456789"}
        status, _, body = client.call("POST", "/auth/login", login)
        assert status == 200, body
        status, headers, item = client.call(
            "POST",
            "/items",
            {"name": "first"},
            {"X-CSRF-Token": body["csrf_token"], header: "smoke-test-1"},
        )
        assert status == 201, item
        assert headers[header] == "smoke-test-1"
        assert item["correlation_id"] == "smoke-test-1"
        status, _, listing = client.call("GET", "/items")
        assert status == 200 and listing["items"] == [item]
        service.stop()
    tagged = [line for line in service.log_lines() if line.get("correlation_id") == "smoke-test-1"]
    assert any(line.get("path") == "/items" and line.get("status") == 201 for line in tagged), (
        service.output()
    )
