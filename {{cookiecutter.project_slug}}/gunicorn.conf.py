"""gunicorn settings for production: `gunicorn '{{ cookiecutter.package_name }}:create_app()'`.

Every value comes from the environment. Logs go to stdout as JSON lines, the access log
included, each carrying the correlation id of its request.{% if cookiecutter.metrics == "prometheus" %}

The master process serves the workers' Prometheus metrics on METRICS_BIND (default
127.0.0.1:9464), never on the public port, with the hooks of core/metrics_server.py. The
master never imports the application (`preload_app = False`), so that a HUP still loads new
code into new workers.{% endif %}
"""

import importlib.util
import os
from pathlib import Path
from types import ModuleType

# gunicorn is the production server: a start is production unless the environment itself
# says otherwise (a `.env` saying APP_ENV=development then stops the start, core/config.py).
os.environ.setdefault("APP_ENV", "production")

# gunicorn reads requests in its worker threads: a client that trickles a request in holds a
# thread. It belongs behind a buffering proxy (nginx/service.conf.template) and listens only
# where that proxy reaches it: loopback here, the container network in compose.yaml.
bind = os.environ.get("BIND", "127.0.0.1:" + os.environ.get("PORT", "8000"))
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads per worker (gunicorn's gthread worker, see worker_class below); the database pool
# (DATABASE_POOL_SIZE) must be at least this large.
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# What nginx (nginx/service.conf.template) passes on, gunicorn must not refuse with its own
# HTML page: its limits are at or above nginx's, so that nginx refuses first, in JSON.
# nginx passes request lines of up to 8190 bytes (large_client_header_buffers 4 8k), the
# largest gunicorn takes.
limit_request_line = 8190
# nginx bounds the number of headers by its buffers alone: the most gunicorn takes.
limit_request_fields = 32768
# nginx joins every X-Forwarded-For line of a request into one header of its own.
limit_request_field_size = 65536
# Only the scheme header nginx sets itself: a client's X-Forwarded-Ssl contradicting it made
# gunicorn refuse the request.
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
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
        "config_errors": {"()": "{{ cookiecutter.package_name }}.core.logs.GunicornErrorFilter"},
        "access_fields": {
            "()": "{{ cookiecutter.package_name }}.core.logs.GunicornAccessFilter",
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["config_errors"],
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


def core_module(name: str) -> ModuleType:
    """core/<name>.py of the installed package, loaded by its path so that the master
    imports none of the application (finding the package's folder does not import it)."""
    package = importlib.util.find_spec("{{ cookiecutter.package_name }}")
    if package is None or not package.submodule_search_locations:
        raise RuntimeError("{{ cookiecutter.package_name }} is not installed: run make install")
    path = Path(next(iter(package.submodule_search_locations))) / "core" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"no {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# gunicorn's threaded worker, answering what gunicorn refuses itself (a request it cannot
# read) in the service's JSON error shape, with a correlation id (core/gunicorn_worker.py).
worker_class = core_module("gunicorn_worker").JsonErrorWorker
worker_class.correlation_header = "{{ cookiecutter.correlation_header }}"
{%- if cookiecutter.metrics == "prometheus" %}

# The metrics server (core/metrics_server.py), in the master.
metrics_server = core_module("metrics_server")
on_starting = metrics_server.on_starting
when_ready = metrics_server.when_ready
child_exit = metrics_server.child_exit
on_exit = metrics_server.on_exit
{%- endif %}
