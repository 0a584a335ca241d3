"""The observability options against real peers, on loopback:

- tracing: an OpenTelemetry collector (the `rotel` package's agent, from requirements-dev.txt)
  receives the spans of one request through two rendered services, which must form one
  trace whose id is the correlation id on the response and on every log line of both;
- metrics: a Prometheus server (Debian's `prometheus` package, which scripts/servers installs
  and never starts) scrapes a service under a two-worker gunicorn and counts exactly what it
  answered, through a worker's crash.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from support.collector import collector, wait_for_port
from support.nginx import Nginx
from support.rendering import render, run, uv_settings
from support.services import Client, Service, create_token, free_port, gunicorn, prepare

from .variants import VARIANTS

Environment = Callable[[Path], Path]

REQUESTS = 40
LOGIN = {"email": "ada@example.com", "password": "pw-0123456789"}
# The collector calls this for every batch it receives: each span becomes a JSON line.
SPAN_PROCESSOR = """
import json
import os


def process_spans(resource_spans):
    resource = {kv.key: kv.value.value for kv in resource_spans.resource.attributes}
    with open(os.environ["SPANS_FILE"], "a") as out:
        for scope in resource_spans.scope_spans:
            for span in scope.spans:
                out.write(json.dumps({
                    "service": resource.get("service.name"),
                    "name": span.name,
                    "trace_id": bytes(span.trace_id).hex(),
                    "span_id": bytes(span.span_id).hex(),
                    "parent_span_id": bytes(span.parent_span_id).hex(),
                    "kind": int(span.kind),
                    "attributes": sorted(kv.key for kv in span.attributes),
                }) + "\\n")
"""


def spans_of(path: Path, trace_id: str) -> list[dict[str, str]]:
    if not path.exists():
        return []
    spans = [json.loads(line) for line in path.read_text().splitlines() if line]
    return [span for span in spans if span["trace_id"] == trace_id]


CLIENT_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_one_request_through_two_services_is_one_trace_named_by_its_correlation_id(
    tmp_path: Path, environment_for: Environment
) -> None:
    """A is an edge behind the shipped nginx (CORRELATION_ID_HEADERS empty): the client's
    own trace context starts nothing, and the trace is named by the id A made."""
    (tmp_path / "processor.py").write_text(SPAN_PROCESSOR)
    spans_file = tmp_path / "spans.jsonl"
    with ExitStack() as stack:
        endpoint = stack.enter_context(
            collector(tmp_path / "processor.py", {"SPANS_FILE": str(spans_file)})
        )
        services: list[Service] = []
        downstream = {"DOWNSTREAM_URLS": ""}
        for name in ("Trace B", "Trace A"):
            project = render(
                tmp_path / name.replace(" ", ""),
                {**VARIANTS["tracing"], "project_name": name},
            )
            bin_dir = environment_for(project) / "bin"
            env = {
                "APP_ENV": "production",
                "SECRET_KEY": secrets.token_urlsafe(48),
                "WEB_CONCURRENCY": "2",
                **downstream,
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_SERVICE_NAME": name.lower().replace(" ", "-"),
                "OTEL_BSP_SCHEDULE_DELAY": "200",
                "TRUSTED_PROXY_HOPS": "1" if name == "Trace A" else "0",
                # A faces clients: it trusts no incoming id or trace context; B trusts A.
                **({"CORRELATION_ID_HEADERS": ""} if name == "Trace A" else {}),
            }
            prepare(project, bin_dir, env, ["ada@example.com"])
            service = gunicorn(project, bin_dir, env)
            stack.callback(service.stop)
            service.start()
            services.append(service)
            token = create_token(project, bin_dir, env, "ada@example.com")
            downstream = {
                "DOWNSTREAM_URLS": f"service-b={service.url}",
                "DOWNSTREAM_TOKENS": f"service-b={token}",
            }
        b, a = services
        nginx = Nginx(a.project, [f"127.0.0.1:{a.port}"], tmp_path / "nginx")
        stack.callback(nginx.stop)
        nginx.start()

        client = Client(nginx.url)
        assert client.login(LOGIN)[0] == 200
        status, headers, body = client.call(
            "GET",
            "/downstream",
            None,
            {
                "traceparent": f"00-{CLIENT_TRACE_ID}-00f067aa0ba902b7-01",
                "tracestate": "client=chosen",
                "baggage": "userId=admin",
            },
        )
        assert status == 200, body
        assert body["services"] == [{"service": "service-b", "status": "ok", "http_status": 200}]
        correlation_id = headers["X-Correlation-ID"]
        assert correlation_id != CLIENT_TRACE_ID

        deadline = time.monotonic() + 30
        while {span["service"] for span in spans_of(spans_file, correlation_id)} != {
            "trace-a",
            "trace-b",
        }:
            assert time.monotonic() < deadline, spans_file.read_text()
            time.sleep(0.2)
        for service in (a, b):
            service.wait_for_line(
                lambda line: (
                    line.get("logger") == "gunicorn.access"
                    and line.get("correlation_id") == correlation_id
                )
            )
        a.stop()
        b.stop()
        time.sleep(0.5)  # the last batches, flushed at shutdown

    assert spans_of(spans_file, CLIENT_TRACE_ID) == []
    spans = spans_of(spans_file, correlation_id)
    by_id = {span["span_id"]: span for span in spans}
    (root,) = [span for span in spans if span["parent_span_id"] == ""]
    assert (root["service"], root["name"]) == ("trace-a", "GET /downstream")
    (b_server,) = [span for span in spans if span["service"] == "trace-b" and span["kind"] == 2]
    a_client = by_id[b_server["parent_span_id"]]
    assert a_client["service"] == "trace-a"
    # Stable conventions on both sides; B's statements (the token, the user) under its span.
    assert {"http.request.method", "http.route", "url.path"} <= set(b_server["attributes"])
    assert {"http.request.method", "url.full"} <= set(a_client["attributes"])
    b_queries = [span for span in spans if "db.system.name" in span["attributes"]]
    assert any(span["parent_span_id"] == b_server["span_id"] for span in b_queries)
    # Every span hangs off the root, through parents that were all exported.
    for span in spans:
        hops = 0
        while span["parent_span_id"]:
            span = by_id[span["parent_span_id"]]
            hops += 1
            assert hops < 10
        assert span is root
    for service in (a, b):
        lines = [
            line for line in service.log_lines() if line.get("correlation_id") == correlation_id
        ]
        assert lines
        for line in lines:
            assert line["trace_id"] == correlation_id, line
            assert line["span_id"] in by_id, line


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        pytest.fail("Prometheus is not installed: run scripts/servers (apt-get install prometheus)")
    return found


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def workers(master: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{master}/task").glob("*/children"):
        found.extend(int(pid) for pid in task.read_text().split())
    return found


def query(prometheus: str, expression: str) -> float | None:
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    try:
        result: list[dict[str, Any]] = json.loads(get(url))["data"]["result"]
    except OSError:
        return None
    return float(result[0]["value"][1]) if result else None


def wait_for(prometheus: str, expression: str, wanted: float, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = query(prometheus, expression)
        if seen == wanted:
            return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus says {expression} = {seen}, not {wanted}")


def test_prometheus_counts_every_request_exactly_through_a_worker_crash(
    tmp_path: Path, environment_for: Environment
) -> None:
    binary = prometheus_binary()
    project = render(tmp_path / "service", VARIANTS["metrics"])
    bin_dir = environment_for(project) / "bin"
    metrics_port = free_port()
    env = {
        "APP_ENV": "development",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "WEB_CONCURRENCY": "2",
        "METRICS_BIND": f"127.0.0.1:{metrics_port}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    prepare(project, bin_dir, env, [])
    prometheus_port = free_port()
    prometheus = f"http://127.0.0.1:{prometheus_port}"
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: service\n    static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]\n"
    )
    # An ordinary route: `GET /healthz` is answered before Flask and never counted.
    total = 'sum(http_request_duration_seconds_count{route="/items"})'
    with ExitStack() as stack:
        service = gunicorn(project, bin_dir, env)
        stack.callback(service.stop)
        service.start()
        server = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(server.wait, 30)
        stack.callback(server.terminate)
        assert service.process is not None
        deadline = time.monotonic() + 30
        while len(workers(service.process.pid)) < 2:  # the second may still be booting
            assert time.monotonic() < deadline, "gunicorn did not start two workers"
            time.sleep(0.2)
        first, second = workers(service.process.pid)
        # Half the requests to each worker: the other one is paused meanwhile.
        for paused in (first, second):
            os.kill(paused, signal.SIGSTOP)
            try:
                for _ in range(REQUESTS // 2):
                    get(service.url + "/items")
            finally:
                os.kill(paused, signal.SIGCONT)
        counting = {path.name for path in (tmp_path / "metrics").glob("histogram_*.db")}
        assert counting == {f"histogram_{first}.db", f"histogram_{second}.db"}
        wait_for(prometheus, total, REQUESTS)

        crashed = first
        os.kill(crashed, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while len(set(workers(service.process.pid)) - {crashed}) < 2:
            assert time.monotonic() < deadline, "gunicorn did not replace the worker"
            time.sleep(0.2)
        for _ in range(REQUESTS):
            get(service.url + "/items")
        # The dead worker's counts stay in the total, and nobody's are counted twice.
        wait_for(prometheus, total, 2 * REQUESTS)
        scraped = get(f"http://127.0.0.1:{metrics_port}/")
        assert "process_cpu_seconds_total{pid=" in scraped
        assert f'pid="{crashed}"' not in scraped


def closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
    except OSError:
        return True
    return False


def test_make_observe_shows_the_spans_and_the_metrics(tmp_path: Path) -> None:
    """docs/observability.md's steps: `make observe`, a request, its span in
    .observe/spans.log and its count in Prometheus; Ctrl-C stops everything it started."""
    prometheus_binary()
    project = render(tmp_path, {"tracing": "opentelemetry", "metrics": "prometheus"})
    run(["make", "install"], cwd=project, env=uv_settings())  # the project's own .venv
    port, prometheus_port, metrics_port = free_port(), free_port(), free_port()
    ports = [f"PORT={port}", f"PROMETHEUS_PORT={prometheus_port}"]
    with open(tmp_path / "observe.out", "wb") as output:
        process = subprocess.Popen(
            ["make", "observe", *ports, f"METRICS_BIND=127.0.0.1:{metrics_port}"],
            cwd=project,
            env={**os.environ, **uv_settings()},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group, as a terminal's Ctrl-C reaches it
        )
    try:
        wait_for_port(port, timeout=120)
        status, headers, _ = Client(f"http://127.0.0.1:{port}").call("GET", "/auth/me")
        assert status == 401
        trace_id = "0x" + headers["X-Correlation-ID"]
        spans = project / ".observe" / "spans.log"
        deadline = time.monotonic() + 30
        while not any(
            span["name"] == "GET /auth/me" and span["context"]["trace_id"] == trace_id
            for span in map(json.loads, spans.read_text().splitlines())
        ):
            assert time.monotonic() < deadline, spans.read_text()
            time.sleep(0.2)
        prometheus = f"http://127.0.0.1:{prometheus_port}"
        wait_for(prometheus, 'sum(http_request_duration_seconds_count{route="/auth/me"})', 1)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(60)
    assert all(closed(each) for each in (port, prometheus_port, metrics_port)), (
        tmp_path / "observe.out"
    ).read_text()
