"""The benchmark: `scripts/benchmark` (or `python -m benchmarks` from the repository root).

Renders the default service, the postgresql + redis variant when those servers answer, and
the default service with each observability option on (tracing exporting to a real
collector; metrics in gunicorn's multiprocess mode), builds each one's virtual environment,
and measures:

1. in-process cost per request against bare Flask and the peers (inprocess.py);
2. I/O per request, counted with the generated tests' own counters (inprocess.py);
3. requests per second and p50/p99 latency under gunicorn sync and gthread with wrk;
4. the resident size of one worker after warm-up and after 10,000 more requests.

Prints one table, writes build/benchmark/results.json and results.md, and says for every
budget of docs/PERFORMANCE.md whether it was met (an option's variant has no budget of its
own but the I/O and memory ones: its cost is reported against the variant it is added to).
`--check` exits 1 when a budget was missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

from support.collector import collector
from support.rendering import ROOT, keep_cookiecutter_home_in, project_environment, render, run, uv
from support.servers import production_env
from support.services import Client, Service, free_port, gunicorn, prepare

from . import load

HERE = Path(__file__).resolve().parent
# What the comparisons need beyond the rendered project's own lock: flask-log-request-id, and
# Flask-Limiter for the honest peer (contenders.honest_peer).
PEERS = ("flask-log-request-id==0.10.1", "Flask-Limiter==4.1.1")
# docs/PERFORMANCE.md says what each budget covers. A budget only moves down.
BUDGETS = {
    "healthz_over_bare_us": 18.0,
    "overhead_vs_peer": 0.70,
    "item_ratio": 1.30,
    "api_layer_us": 40.0,
    "untraced_probe_us": 5.0,
    "traced_over_instrumentation": 1.20,
    "metrics_us": 12.0,
    "memory_growth_kib": 1024,
}
VARIANTS = {
    "sqlite + filesystem sessions": ({}, ()),
    "postgresql + redis sessions": (
        {"database": "postgresql", "session_store": "redis"},
        (5432, 6379),
    ),
}
# Each observability option alone on the embedded defaults, and the variant it is added to:
# what the option costs per request is its figures minus that variant's (metrics' budgeted
# rows: measured in its own run, with and without its middleware; report.options_table).
OPTIONS = {
    "sqlite + tracing": ({"tracing": "opentelemetry"}, "sqlite + filesystem sessions"),
    "sqlite + metrics": ({"metrics": "prometheus"}, "sqlite + filesystem sessions"),
}


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 2).close()
    except OSError:
        return False
    return True


def settings_for(args: argparse.Namespace) -> dict[str, Any]:
    # A quick run checks that every part works: the sync worker only, the shortest runs.
    if args.quick:
        return {
            "calls": 100,
            "rounds": 2,
            "seconds": 1,
            "memory_requests": 200,
            "workers": ["sync"],
        }
    return {
        "calls": 2000,
        "rounds": 15,
        "seconds": 10,
        "memory_requests": 10_000,
        "workers": ["sync", "gthread"],
    }


def base_env(stack: ExitStack, python: Path, database: str, instance: Path) -> dict[str, str]:
    """Production settings: a throwaway database and Redis namespace on the real servers, or
    files in a throwaway instance folder for the embedded defaults."""
    common = {
        "INSTANCE_PATH": str(instance),
        "LOG_LEVEL": "INFO",
        "WEB_CONCURRENCY": "1",
        # Every write of the load comes from one caller: the limit is counted (its cost is
        # measured) but set above what the load sends.
        "WRITE_RATE_LIMIT_PER_CALLER": "100000000/minute",
    }
    if database == "sqlite":
        return {**common, "APP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48)}
    # Login attempts are limited per client; every request of the load comes from one.
    return {
        **common,
        **production_env(stack, python, database),
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def option_env(stack: ExitStack, extra: dict[str, str], instance: Path) -> dict[str, str]:
    """What an option needs to cost what it costs in production: spans exported to a real
    collector (which drops them), metrics written to the multiprocess files that
    gunicorn.conf.py would set up (in-process too)."""
    env: dict[str, str] = {}
    if extra.get("tracing") == "opentelemetry":
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = stack.enter_context(collector())
        env["OTEL_SERVICE_NAME"] = "benchmark"
    if extra.get("metrics") == "prometheus":
        metrics_dir = instance / "prometheus"
        metrics_dir.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        env["METRICS_BIND"] = f"127.0.0.1:{free_port()}"
    return env


def in_process(project: Path, python: Path, env: dict[str, str], settings: dict[str, Any]) -> Any:
    output = project.parent / "inprocess.json"
    peer_sessions = project.parent / "peer-sessions"
    peer_sessions.mkdir(exist_ok=True)
    arguments = {
        "package": project.name.replace("-", "_"),
        "build": str(peer_sessions),
        "calls": settings["calls"],
        "rounds": settings["rounds"],
        "output": str(output),
    }
    # About 10 minutes on a slow two-core machine for SQLite, more than 15 for PostgreSQL.
    command = [str(python), str(HERE / "inprocess.py"), json.dumps(arguments)]
    run(command, cwd=project, env=env, timeout=3600)
    return json.loads(output.read_text())


def seed_over_http(service: Service) -> tuple[str, int, str]:
    """Logs the prepared user in and creates one item; returns (cookie, item id, CSRF token).
    The honest peer answers the same requests (it also reads the X-CSRF-Token header)."""
    client = Client(service.url)
    status, _, body = client.call(
        "POST", "/auth/login", {"email": "bench@example.com", "password": "pw-0123456789"}
    )
    assert status == 200, body
    status, _, item = client.call(
        "POST", "/items", {"name": "benchmark"}, {"X-CSRF-Token": body["csrf_token"]}
    )
    assert status == 201, item
    return load.logged_in_cookie(client), int(item["id"]), body["csrf_token"]


def contender_server(project: Path, bin_dir: Path, factory: str, env: dict[str, str]) -> Service:
    """A contender of contenders.py under the service's own gunicorn configuration."""
    command = [str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", "--pythonpath", str(HERE)]
    return Service(project, [*command, f"contenders:{factory}"], env)


def over_http(
    project: Path, venv: Path, env: dict[str, str], settings: dict[str, Any]
) -> dict[str, Any]:
    """wrk against gunicorn with the production configuration, sync then gthread."""
    if load.wrk() is None:
        return {"skipped": "wrk is not installed (scripts/benchmark installs it with apt-get)"}
    bin_dir = venv / "bin"
    results: dict[str, Any] = {}
    threads = {"sync": 1, "gthread": 4}
    for worker in settings["workers"]:
        connections = threads[worker]
        worker_env = {**env, "WEB_THREADS": str(threads[worker])}
        bare = contender_server(project, bin_dir, "bare()", worker_env)
        peer = contender_server(
            project,
            bin_dir,
            "served_peer()",
            {**worker_env, "BENCHMARK_PACKAGE": project.name.replace("-", "_")},
        )
        for name, server, readiness in (
            ("service", gunicorn(project, bin_dir, worker_env), "/readyz"),
            ("honest peer", peer, "/healthz"),
        ):
            try:
                server.start(readiness_path=readiness)
                cookie, item_id, csrf_token = seed_over_http(server)
                create = ('{"name": "benchmark"}', {"X-CSRF-Token": csrf_token})
                runs = {
                    "GET /healthz": (f"{server.url}/healthz", None, None),
                    "GET /items/<id>": (f"{server.url}/items/{item_id}", None, None),
                    "GET /auth/me, logged in": (f"{server.url}/auth/me", cookie, None),
                    "POST /items, logged in": (f"{server.url}/items", cookie, create),
                }
                for endpoint, (url, sent, post) in runs.items():
                    results[f"{worker}: {name}: {endpoint}"] = asdict(
                        load.run_wrk(url, settings["seconds"], connections, sent, post)
                    )
            finally:
                server.stop()
        try:
            bare.start(readiness_path="/healthz")
            results[f"{worker}: bare Flask: GET /healthz"] = asdict(
                load.run_wrk(f"{bare.url}/healthz", settings["seconds"], connections)
            )
        finally:
            bare.stop()
    return results


def memory(
    project: Path, venv: Path, env: dict[str, str], settings: dict[str, Any]
) -> dict[str, Any]:
    """Resident size of the one sync worker after warm-up and after many more requests."""
    service = gunicorn(project, venv / "bin", {**env, "WEB_THREADS": "1"})
    try:
        service.start()
        cookie, item_id, _ = seed_over_http(service)
        mix = [("/healthz", None), (f"/items/{item_id}", None), ("/auth/me", cookie)]
        pid = load.worker_pid(service)
        load.hammer(service.port, mix, 1000)
        warm = load.resident_kib(pid)
        load.hammer(service.port, mix, settings["memory_requests"])
        after = load.resident_kib(pid)
        # A second window tells a leak (grows again) from caches filling up (does not).
        load.hammer(service.port, mix, settings["memory_requests"])
        again = load.resident_kib(pid)
    finally:
        service.stop()
    return {
        "requests": settings["memory_requests"],
        "rss_after_warm_up_kib": warm,
        "rss_after_kib": after,
        "growth_kib": after - warm,
        "rss_after_second_window_kib": again,
        "second_window_growth_kib": again - after,
    }


def measure_variant(name: str, extra: dict[str, str], settings: dict[str, Any], build: Path) -> Any:
    project = render(Path(tempfile.mkdtemp(prefix="variant-", dir=build)), extra)
    venv = project_environment(project, build)
    python = venv / "bin" / "python"
    run([uv(), "pip", "install", "--quiet", "--python", str(python), *PEERS], cwd=project)
    database = extra.get("database", "sqlite")
    with ExitStack() as stack:
        instance = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=build)))
        env = {**base_env(stack, python, database, instance), **option_env(stack, extra, instance)}
        print(f"[{name}] in-process cost and I/O counts", flush=True)
        result = {"in_process": in_process(project, python, env, settings)}
        print(f"[{name}] over HTTP", flush=True)
        prepare(project, venv / "bin", env, ["bench@example.com"])
        result["http"] = over_http(project, venv, env, settings)
        print(f"[{name}] memory", flush=True)
        result["memory"] = memory(project, venv, env, settings)
    return result


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "system": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run that checks it works")
    parser.add_argument("--check", action="store_true", help="exit 1 if a budget is missed")
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "build" / "benchmark",
        help="where the renders, their environments and the results go",
    )
    args = parser.parse_args()
    keep_cookiecutter_home_in(ROOT / "build")
    output = args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    settings = settings_for(args)
    results: dict[str, Any] = {
        "machine": machine(),
        "settings": settings,
        "variants": {},
        "options": {name: base for name, (_, base) in OPTIONS.items()},
    }
    for name, (extra, ports) in VARIANTS.items():
        missing = [port for port in ports if not answers(port)]
        if missing:
            results["variants"][name] = {"skipped": f"nothing answers on port(s) {missing}"}
            continue
        results["variants"][name] = measure_variant(name, extra, settings, output)
    for name, (extra, _base) in OPTIONS.items():
        results["variants"][name] = measure_variant(name, extra, settings, output)
    from .report import report

    text, verdicts = report(results, BUDGETS)
    print(text)
    (output / "results.json").write_text(json.dumps(results, indent=1))
    (output / "results.md").write_text(text)
    print(f"Written to {output / 'results.md'} and results.json")
    return 1 if args.check and not all(verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
