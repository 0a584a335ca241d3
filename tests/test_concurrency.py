"""Many clients at once against a real gunicorn with several workers and threads: every
response, stored item and log line belongs to its own request and user. Zero cross-talk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest

from support.rendering import render
from support.servers import production_env, require
from support.services import Client, Service, gunicorn, prepare

pytestmark = pytest.mark.slow
USERS = 8
ITEMS_PER_USER = 6


@pytest.fixture
def service(tmp_path: Path, environment_for: Callable[[Path], Path]) -> Iterator[Service]:
    require("postgresql")
    require("redis")
    project = render(tmp_path, {"database": "postgresql", "session_store": "redis"})
    bin_dir = environment_for(project) / "bin"
    with ExitStack() as stack:
        env = {
            **production_env(stack, bin_dir / "python", "postgresql"),
            "WEB_CONCURRENCY": "2",
            "WEB_THREADS": "4",
        }
        prepare(project, bin_dir, env, [f"user{n}@example.com" for n in range(USERS)])
        service = gunicorn(project, bin_dir, env)
        stack.callback(service.stop)
        yield service.start()


def test_concurrent_clients_never_see_each_others_context(service: Service) -> None:
    def one_user(n: int) -> tuple[int, list[tuple[str, dict[str, object], dict[str, str]]]]:
        client = Client(service.url)
        credentials = {"email": f"user{n}@example.com", "password": "pw-0123456789"}
        status, _, body = client.login(credentials)
        assert status == 200, body
        results = []
        for k in range(ITEMS_PER_USER):
            correlation_id = f"user{n}-request{k}"
            status, headers, item = client.call(
                "POST",
                "/items",
                {"name": correlation_id},
                {"X-CSRF-Token": body["csrf_token"], "X-Correlation-ID": correlation_id},
            )
            assert status == 201, item
            results.append((correlation_id, item, headers))
        return int(body["user"]["id"]), results

    with ThreadPoolExecutor(USERS) as pool:
        outcomes = list(pool.map(one_user, range(USERS)))
    service.stop()

    owner_of = {}
    for user_id, results in outcomes:
        for correlation_id, item, headers in results:
            assert headers["X-Correlation-ID"] == correlation_id
            assert item["correlation_id"] == correlation_id
            assert item["created_by"] == user_id
            owner_of[correlation_id] = str(user_id)
    lines = [line for line in service.log_lines() if line.get("correlation_id") in owner_of]
    # One access line per request, gunicorn's, with the request's id and its user's.
    assert [line["logger"] for line in lines] == ["gunicorn.access"] * USERS * ITEMS_PER_USER
    crossed = [line for line in lines if line.get("user_id") != owner_of[line["correlation_id"]]]
    assert crossed == []
