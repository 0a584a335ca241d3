"""Calls from other services, end to end: API tokens and Idempotency-Keys under a real
multi-worker gunicorn on every database, and a second service that calls the first with a
token and retries its writes through a crash and restart of the first."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from support.rendering import render
from support.servers import database_settings
from support.services import Client, create_token, gunicorn, prepare

pytestmark = pytest.mark.slow
Environment = Callable[[Path], Path]
CLIENTS = 16


def production_settings() -> dict[str, str]:
    return {"APP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48)}


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mysql"])
def test_concurrent_retries_of_one_key_create_one_item(
    tmp_path: Path, environment_for: Environment, database: str
) -> None:
    project = render(tmp_path, {"database": database})
    bin_dir = environment_for(project) / "bin"
    with ExitStack() as stack:
        env = {
            **production_settings(),
            **database_settings(stack, bin_dir / "python", database),
            "WEB_CONCURRENCY": "3",
            "WEB_THREADS": "4",
        }
        prepare(project, bin_dir, env, ["ada@example.com"])
        token = create_token(project, bin_dir, env, "ada@example.com")
        service = gunicorn(project, bin_dir, env)
        stack.callback(service.stop)
        service.start()
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "order-1"}

        def one(_n: int) -> tuple[int, dict[str, str], object]:
            return Client(service.url).call("POST", "/items", {"name": "order-1"}, headers)

        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(one, range(CLIENTS)))
        statuses = sorted(status for status, _, _ in answers)
        assert set(statuses) <= {201, 409}, answers
        created = [a for a in answers if a[0] == 201]
        originals = [a for a in created if "Idempotent-Replayed" not in a[1]]
        assert len(originals) == 1, answers
        assert all(body == originals[0][2] for _, _, body in created)
        # Once the first has finished, every retry is a replay of it.
        status, replayed, body = Client(service.url).call(
            "POST", "/items", {"name": "order-1"}, headers
        )
        assert (status, replayed["Idempotent-Replayed"], body) == (201, "true", originals[0][2])
        _, _, listing = Client(service.url).call("GET", "/items", headers=headers)
        assert [item["name"] for item in listing["items"]] == ["order-1"]


CALLER = """
import json, sys
from {package} import create_app
from {package}.core.context import restore_context
from {package}.core.outgoing import send_with_retries, service_client

app = create_app()
with app.app_context():
    restore_context({{"correlation_id": sys.argv[1]}})
    client = service_client("service-a")
    for n in range(int(sys.argv[2])):
        response = send_with_retries(
            client, "POST", "/items", json={{"name": f"order-{{n}}"}}, deadline=120
        )
        print(json.dumps({{"order": n, "status": response.status_code,
                          "id": response.json().get("id")}}), flush=True)
"""


def test_a_service_retries_its_writes_through_a_crash_of_the_other(
    tmp_path: Path, environment_for: Environment
) -> None:
    """Service B creates items on A with a token; A crashes (SIGKILL, mid-request or not)
    and comes back; B retries each write with its Idempotency-Key until it lands. A ends
    with exactly the items B meant, once each, and every line of both carries B's id."""
    orders, correlation_id = 40, f"retry-{uuid.uuid4().hex[:8]}"
    a_project = render(tmp_path / "a", {"project_name": "Service A"})
    b_project = render(tmp_path / "b", {"project_name": "Service B"})
    a_bin = environment_for(a_project) / "bin"
    b_bin = environment_for(b_project) / "bin"
    with ExitStack() as stack:
        a_env = {**production_settings(), "WEB_CONCURRENCY": "2", "WEB_THREADS": "4"}
        prepare(a_project, a_bin, a_env, ["b@example.com"])
        token = create_token(a_project, a_bin, a_env, "b@example.com")
        a = gunicorn(a_project, a_bin, a_env)
        stack.callback(a.stop)
        a.start()
        b_env = {
            **production_settings(),
            "DOWNSTREAM_URLS": f"service-a={a.url}",
            "DOWNSTREAM_TOKENS": f"service-a={token}",
            "PYTHONUNBUFFERED": "1",
        }
        caller = subprocess.Popen(
            [
                str(b_bin / "python"),
                "-c",
                CALLER.format(package="service_b"),
                correlation_id,
                str(orders),
            ],
            cwd=b_project,
            env={**os.environ, **b_env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        stack.callback(caller.kill)
        lines: list[str] = []
        assert caller.stdout is not None
        while len([line for line in lines if '"order"' in line]) < orders // 3:
            line = caller.stdout.readline()
            assert line, "the caller stopped early:\n" + "".join(lines)  # not a busy loop
            lines.append(line)
        a.kill()  # a crash: requests in flight are lost, maybe after their commit
        time.sleep(1)
        a.start()
        rest, _ = caller.communicate(timeout=300)
        lines += rest.splitlines()
        assert caller.returncode == 0, "".join(lines)
        headers = {"Authorization": f"Bearer {token}"}
        _, _, listing = Client(a.url).call("GET", "/items?limit=100", headers=headers)

    b_lines = [json.loads(line) for line in lines if line.startswith("{")]
    results = [line for line in b_lines if "order" in line]
    assert [r["order"] for r in results] == list(range(orders))
    assert {r["status"] for r in results} == {201}
    assert any(line.get("message") == "retrying a call to another service" for line in b_lines)
    # Every line of the work, that is all but the start line, written before any work.
    work = [line for line in b_lines if "level" in line and line["message"] != "service configured"]
    assert {line.get("correlation_id") for line in work} == {correlation_id}
    a_posts = [
        line
        for line in a.log_lines()
        if line.get("logger") == "gunicorn.access"
        and (line.get("method"), line.get("path")) == ("POST", "/items")
    ]
    assert a_posts and {line["correlation_id"] for line in a_posts} == {correlation_id}
    assert {line["token_name"] for line in a_posts} == {"caller"}
    # Exactly the items B meant, once each, whatever the crash cut short.
    assert len({r["id"] for r in results}) == orders
    names = sorted(item["name"] for item in listing["items"])
    assert names == sorted(f"order-{n}" for n in range(orders))
