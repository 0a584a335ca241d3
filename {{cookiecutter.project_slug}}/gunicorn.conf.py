"""gunicorn settings for production: `gunicorn '{{ cookiecutter.package_name }}:create_app()'`.

Every value comes from the environment. Logs go to stdout as JSON lines, the access log
included, each carrying the correlation id of its request.{% if cookiecutter.metrics == "prometheus" %}

The master process serves the workers' Prometheus metrics on METRICS_BIND (default
127.0.0.1:9464), never on the public port; the hooks at the end do what prometheus_client's
multiprocess mode asks of a pre-forking server. The master never imports the application
(`preload_app = False`), so that a HUP still loads new code into new workers.{% endif %}
"""

import os
{%- if cookiecutter.metrics == "prometheus" %}
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
{%- endif %}

# gunicorn reads requests in its worker threads: a client that trickles a request in holds a
# thread. It belongs behind a buffering proxy (nginx/service.conf.template) and listens only
# where that proxy reaches it: loopback here, the container network in compose.yaml.
bind = os.environ.get("BIND", "127.0.0.1:" + os.environ.get("PORT", "8000"))
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# More than one thread makes gunicorn use its gthread worker; the database pool
# (DATABASE_POOL_SIZE) must be at least this large.
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# The app is created in each worker after the fork: no pool or connection crosses it.
preload_app = False
# gunicorn's control socket defaults to one path per user, shared by every instance that user
# runs (stopping one removes it for the others): off unless an instance is given its own.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["levelname", "name", "message"],
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        }
    },
    "filters": {
        "access_fields": {
            "()": "{{ cookiecutter.package_name }}.core.logs.GunicornAccessFilter",
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["access_fields"],
            "stream": "ext://sys.stdout",
        },
    },
    # The application configures the root logger itself (see logs.py).
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}
{%- if cookiecutter.metrics == "prometheus" %}

# Every worker writes its metrics to files in this directory, which must be known before any
# worker imports prometheus_client: the server's own, or a fresh one for this instance.
# Set in os.environ, so that a HUP (which reads this file again) keeps the same one. For the
# same reason prometheus_client is imported inside the hooks below, never at the top of this
# file: it picks where values live when first imported, and the workers inherit the
# master's modules.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="prometheus-")
    os.environ["METRICS_DIR_IS_TEMPORARY"] = "1"
metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
metrics_bind = os.environ.get("METRICS_BIND", "127.0.0.1:9464")


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (the workers), from Linux's /proc."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.extend(int(child) for child in task.read_text().split())
        except OSError:  # the thread ended while it was read
            continue
    return found


class ProcessesCollector:
    """process_* metrics (CPU, memory, open files) of the master and each live worker, one
    series per process labelled `pid`: the collector a worker would run for itself cannot
    work in multiprocess mode, so the master reads each worker's from /proc."""

    def __init__(self, pids: Callable[[], Iterable[int]]) -> None:
        self.pids = pids

    def collect(self) -> Iterator[Any]:
        from prometheus_client import ProcessCollector
        from prometheus_client.metrics_core import Metric

        merged: dict[str, Metric] = {}
        for pid in self.pids():
            collector = ProcessCollector(pid=lambda pid=pid: pid, registry=None)
            for family in collector.collect():
                into = merged.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type)
                )
                for sample in family.samples:
                    into.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        yield from merged.values()


def scrape(server_pid: int) -> Any:
    """The registry one scrape reads, built afresh each time as multiprocess mode requires:
    every worker's files, alive or dead, added up, and the processes' own metrics."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(ProcessesCollector(lambda: [server_pid, *children(server_pid)]))
    return registry


def metrics_app(server_pid: int) -> Callable[..., Iterable[bytes]]:
    from prometheus_client import make_wsgi_app

    def app(environ: Any, start_response: Any) -> Iterable[bytes]:
        return make_wsgi_app(scrape(server_pid))(environ, start_response)

    return app


class MetricsServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """A scrape every few seconds is not worth a log line."""


def on_starting(server: Any) -> None:
    # Files left by an earlier run would be added to this one's counts.
    for leftover in metrics_dir.glob("*.db"):
        leftover.unlink()


def when_ready(server: Any) -> None:
    host, _, port = metrics_bind.rpartition(":")
    httpd = make_server(
        host.strip("[]"),
        int(port),
        metrics_app(server.pid),
        server_class=MetricsServer,
        handler_class=QuietHandler,
    )
    threading.Thread(target=httpd.serve_forever, name="metrics", daemon=True).start()
    server.log.info("serving metrics on %s", metrics_bind)


def child_exit(server: Any, worker: Any) -> None:
    # A dead worker's counters stay (they are part of the totals); its live gauges go.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if os.environ.get("METRICS_DIR_IS_TEMPORARY"):
        shutil.rmtree(metrics_dir, ignore_errors=True)
{%- endif %}
