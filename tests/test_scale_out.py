"""Scale-out: two instances of one service behind a real nginx running the project's own
configuration (nginx/service.conf.template), sharing one database and one Redis. Sessions
work on both, the correlation id reaches the logs of the instance that served it, and
stopping an instance in the middle of a run loses nothing that was acknowledged."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.nginx import Nginx
from support.rendering import render
from support.servers import production_env, require
from support.services import Client, Service, gunicorn, prepare

pytestmark = pytest.mark.slow


@dataclass
class Cluster:
    nginx: str
    instances: list[Service]

    @staticmethod
    def served_a_logged_in_request(instance: Service) -> None:
        """Waits for an access line of a logged-in request that succeeded: gunicorn writes
        it after the response."""
        instance.wait_for_line(
            lambda line: (
                str(line.get("logger", "")).endswith(".access")
                and bool(line.get("user_id"))
                and int(str(line.get("status"))) < 400
            )
        )

    def served_by(self, correlation_id: str, timeout: float = 10) -> Service:
        """The one instance whose log has a line with this id, once it is written."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                instance
                for instance in self.instances
                if any(
                    line.get("correlation_id") == correlation_id for line in instance.log_lines()
                )
            ]
            if found or time.monotonic() > deadline:
                (instance,) = found
                return instance
            time.sleep(0.1)


@pytest.fixture(params=["postgresql-redis", "mysql-redis"])
def cluster(
    request: pytest.FixtureRequest, tmp_path: Path, environment_for: Callable[[Path], Path]
) -> Iterator[Cluster]:
    answers = {"database": request.param.split("-")[0], "session_store": "redis"}
    require(answers["database"])
    require("redis")
    project = render(tmp_path / "render", answers)
    bin_dir = environment_for(project) / "bin"
    with ExitStack() as stack:
        env = {
            **production_env(stack, bin_dir / "python", answers["database"]),
            "TRUSTED_PROXY_HOPS": "1",
            "WEB_CONCURRENCY": "1",
            "WEB_THREADS": "4",
        }
        prepare(project, bin_dir, env, ["ada@example.com"])
        instances = [gunicorn(project, bin_dir, env), gunicorn(project, bin_dir, env)]
        for instance in instances:
            stack.callback(instance.stop)
            instance.start()
        # The project's own nginx configuration, as compose.yaml runs it.
        upstreams = [f"127.0.0.1:{instance.port}" for instance in instances]
        nginx = Nginx(project, upstreams, tmp_path)
        stack.callback(nginx.stop)
        nginx.start()
        base = nginx.url
        deadline = time.monotonic() + 20
        while True:
            try:
                if Client(base).call("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "error.log").read_text()) from None
                time.sleep(0.2)
        yield Cluster(base, instances)


def test_two_instances_behind_nginx(cluster: Cluster) -> None:
    first, second = cluster.instances
    client = Client(cluster.nginx)
    status, _, body = client.call(
        "POST", "/auth/login", {"email": "ada@example.com", "password": "pw-0123456789"}
    )
    assert status == 200, body
    token = body["csrf_token"]

    # Round robin: the session made on one instance is valid on the other.
    created = []
    for n in range(10):
        status, _, item = client.call(
            "POST", "/items", {"name": f"item {n}"}, {"X-CSRF-Token": token}
        )
        assert status == 201, item
        created.append(item)
        assert client.call("GET", "/auth/me")[0] == 200
    for item in created:
        status, _, read = client.call("GET", f"/items/{item['id']}")
        assert (status, read) == (200, item)
    for instance in (first, second):
        # Both instances served logged-in requests successfully: the session is shared.
        cluster.served_a_logged_in_request(instance)

    # nginx adds no id of its own: the instance makes one, answers it and logs it (with
    # tracing, that id is the trace id too).
    status, headers, _ = Client(cluster.nginx).call("GET", "/healthz")
    generated = headers["X-Correlation-ID"]
    assert status == 200 and re.fullmatch(r"[0-9a-f]{32}", generated)
    cluster.served_by(generated).wait_for_line(
        lambda line: (
            line.get("logger") == "gunicorn.access" and line.get("correlation_id") == generated
        )
    )
    # The client's own X-Request-ID passes through unchanged.
    _, headers, _ = Client(cluster.nginx).call(
        "GET", "/healthz", headers={"X-Request-ID": "mine-1"}
    )
    assert headers["X-Correlation-ID"] == "mine-1"

    # One instance stops in the middle of a run: nothing acknowledged is lost.
    acknowledged = []
    for n in range(30):
        if n == 10:
            first.stop()
        status, _, item = client.call(
            "POST", "/items", {"name": f"during {n}"}, {"X-CSRF-Token": token}
        )
        assert status == 201, (n, item)
        acknowledged.append(item["id"])
        assert client.call("GET", "/auth/me")[0] == 200  # the session survives
    for item_id in acknowledged:
        assert client.call("GET", f"/items/{item_id}")[0] == 200
    assert len(set(acknowledged)) == 30

    # Logging out on the survivor ends the session everywhere.
    assert client.call("POST", "/auth/logout", headers={"X-CSRF-Token": token})[0] == 204
    assert client.call("GET", "/auth/me")[0] == 401
