"""The chain: one request to service A, which calls service B from background threads.
Every line the request produces, in A, in A's threads and in B, carries one correlation id."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support.rendering import render
from support.services import Client, Service, create_token, gunicorn, prepare

pytestmark = pytest.mark.slow
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
LOGIN = {"email": "ada@example.com", "password": "pw-0123456789"}


# One thread per worker makes gunicorn use its sync worker; more, its gthread worker.
@pytest.fixture(scope="module", params=["1", "4"], ids=["sync", "gthread"])
def chain(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    environment_for: Callable[[Path], Path],
) -> Iterator[tuple[Service, Service]]:
    services = []
    downstream = {"DOWNSTREAM_URLS": ""}
    for name in ("Service B", "Service A"):
        project = render(tmp_path_factory.mktemp(name.replace(" ", "")), {"project_name": name})
        bin_dir = environment_for(project) / "bin"
        env = {
            "APP_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "WEB_CONCURRENCY": "2",
            "WEB_THREADS": request.param,
            **downstream,
            # All four cases may reach one worker at once: none is refused for it here.
            "DOWNSTREAM_CONCURRENCY": "4",
        }
        prepare(project, bin_dir, env, ["ada@example.com"])
        service = gunicorn(project, bin_dir, env)
        services.append(service)
        # A calls B's API with a token of B's, made as an operator makes one.
        token = create_token(project, bin_dir, env, "ada@example.com")
        downstream = {
            "DOWNSTREAM_URLS": f"service-b={service.url}",
            "DOWNSTREAM_TOKENS": f"service-b={token}",
        }
    b, a = services
    try:
        b.start()
        a.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


def send(a: Service, cases: dict[str, dict[str, str]]) -> None:
    """Log in and send the requests concurrently; each must fan out to B and succeed."""

    def one(headers: dict[str, str]) -> None:
        client = Client(a.url)
        status, _, body = client.login(LOGIN, headers)
        assert status == 200, body
        status, _, body = client.call("GET", "/downstream", headers=headers)
        assert status == 200, body
        assert body["services"] == [{"service": "service-b", "status": "ok", "http_status": 200}]

    with ThreadPoolExecutor(len(cases)) as pool:
        list(pool.map(one, cases.values()))


def request_lines(service: Service) -> list[dict[str, object]]:
    """The lines written while serving requests (not start-up and shutdown)."""
    return [
        line
        for line in service.log_lines()
        if line.get("logger") != "gunicorn.error"
        and line.get("message") != "service configured"
        and line.get("path") != "/readyz"
        and "readyz" not in str(line.get("message"))
    ]


def told_to_retry(line: dict[str, object]) -> bool:
    """The access line of a login answered 503 (every hashing slot busy) and sent again."""
    return line.get("path") == "/auth/login" and str(line.get("status")) == "503"


def test_one_id_across_services_threads_and_access_logs(chain: tuple[Service, Service]) -> None:
    a, b = chain
    cases = {
        "chain-correlation": {"X-Correlation-ID": "chain-correlation"},
        "chain-request-id": {"X-Request-ID": "chain-request-id"},
        TRACE_ID: {"traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01"},
        "chain-concurrent": {"X-Correlation-ID": "chain-concurrent"},
    }
    send(a, cases)
    a.stop()
    b.stop()
    a_lines, b_lines = request_lines(a), request_lines(b)
    # Nothing a request produced lacks its id, and no id other than those sent appears.
    assert Counter(line.get("correlation_id") for line in a_lines).keys() == cases.keys(), a_lines
    assert Counter(line.get("correlation_id") for line in b_lines).keys() == cases.keys(), b_lines
    for correlation_id in cases:
        in_a = [
            line
            for line in a_lines
            if line["correlation_id"] == correlation_id and not told_to_retry(line)
        ]
        in_b = [line for line in b_lines if line["correlation_id"] == correlation_id]
        loggers_a = sorted(str(line["logger"]) for line in in_a)
        assert loggers_a == [
            "gunicorn.access",  # the login's access line (in production gunicorn writes it)
            "gunicorn.access",  # the call's
            "httpx",  # the outgoing call, from the background thread
            "service_a.downstream",  # written in the background thread
        ], in_a
        assert [str(line["logger"]) for line in in_b] == ["gunicorn.access"], in_b
        assert {line["path"] for line in in_b} == {"/auth/me"}
