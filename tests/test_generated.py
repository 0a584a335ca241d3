"""Each supported variant, rendered: its own linters and test suite pass against real servers,
and the service starts with `flask run` and serves a logged-in request."""

from __future__ import annotations

import http.cookiejar
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from .rendering import render, run
from .servers import REDIS_URL, require, throwaway_database, throwaway_redis_namespace
from .variants import VARIANTS

pytestmark = pytest.mark.slow
Environment = Callable[[Path], Path]


def needs(variant: dict[str, str]) -> list[str]:
    servers = []
    if variant.get("database", "sqlite") != "sqlite":
        servers.append(variant["database"])
    if variant.get("session_store") == "redis" or variant.get("background_jobs") == "celery":
        servers.append("redis")
    return servers


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_project_passes_its_own_lint_types_and_tests(
    tmp_path: Path, environment_for: Environment, variant: str
) -> None:
    for server in needs(VARIANTS[variant]):
        require(server)
    project = render(tmp_path, VARIANTS[variant])
    bin_dir = environment_for(project) / "bin"
    run([str(bin_dir / "ruff"), "check", "."], cwd=project)
    run([str(bin_dir / "ruff"), "format", "--check", "."], cwd=project)
    run([str(bin_dir / "mypy")], cwd=project)
    result = run(
        [str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env={"TEST_REDIS_URL": REDIS_URL},
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary, summary
    if os.environ.get("CI"):
        assert "skipped" not in summary, result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(base: str, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the service exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError("the service did not become ready")


Call = Callable[[str, str, object, dict[str, str]], tuple[int, dict[str, str], Any]]


def client(base: str) -> Call:
    """A tiny JSON client with a cookie jar, standard library only."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    def call(
        method: str, path: str, body: object, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            base + path,
            method=method,
            data=data,
            headers={"Content-Type": "application/json", **headers},
        )
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.loads(error.read())

    return call


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_service_starts_with_flask_run_and_serves(
    tmp_path: Path, environment_for: Environment, variant: str
) -> None:
    answers = VARIANTS[variant]
    for server in needs(answers):
        require(server)
    project = render(tmp_path, answers)
    bin_dir = environment_for(project) / "bin"
    package = project.name.replace("-", "_")
    header = answers.get("correlation_header", "X-Correlation-ID")
    python = bin_dir / "python"
    with ExitStack() as stack:
        env = {"APP_ENV": "development", "SECRET_KEY": uuid.uuid4().hex * 2}
        if answers.get("database", "sqlite") != "sqlite":
            env["DATABASE_URL"] = stack.enter_context(
                throwaway_database(python, answers["database"])
            )
        if "redis" in needs(answers):
            namespace = stack.enter_context(throwaway_redis_namespace(python))
            env["REDIS_URL"] = env["CELERY_BROKER_URL"] = REDIS_URL
            env["SESSION_KEY_PREFIX"] = f"{namespace}:session:"
            env["CELERY_QUEUE"] = namespace
        flask = [str(bin_dir / "flask"), "--app", package]
        run([*flask, "init-db"], cwd=project, env=env)
        run(
            [*flask, "create-user", "ada@example.com", "--password", "pw-0123456789"],
            cwd=project,
            env=env,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = subprocess.Popen(
            [*flask, "run", "--port", str(port)],
            cwd=project,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_until_ready(base, process)
            call = client(base)
            status, _, body = call(
                "POST", "/auth/login", {"email": "ada@example.com", "password": "pw-0123456789"}, {}
            )
            assert status == 200, body
            token = body["csrf_token"]
            status, headers, item = call(
                "POST", "/items", {"name": "first"}, {"X-CSRF-Token": token, header: "smoke-test-1"}
            )
            assert status == 201, item
            assert headers[header] == "smoke-test-1"
            assert item["correlation_id"] == "smoke-test-1"
            status, _, listing = call("GET", "/items", None, {})
            assert status == 200 and listing["items"] == [item]
        finally:
            process.terminate()
            output, _ = process.communicate(timeout=10)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    tagged = [line for line in lines if line.get("correlation_id") == "smoke-test-1"]
    assert any(line.get("path") == "/items" and line.get("status") == 201 for line in tagged), (
        output
    )
