"""An OpenTelemetry collector on loopback: the agent the `rotel` package (requirements-dev.txt)
ships, which runs offline. The observability tests read what it receives; the benchmark
only needs it to receive, so that exporting spans costs what it costs in production."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .services import free_port


def collector_binary() -> str:
    import rotel  # the collector's agent ships inside the package

    return str(Path(rotel.__file__).parent / "rotel-agent")


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


@contextmanager
def collector(processor: Path | None = None, env: dict[str, str] | None = None) -> Iterator[str]:
    """A collector that drops what it receives, after handing every batch of spans to the
    Python `processor` file's `process_spans` when one is given; yields its OTLP/HTTP
    endpoint, for OTEL_EXPORTER_OTLP_ENDPOINT."""
    http_port, grpc_port = free_port(), free_port()
    command = [
        collector_binary(),
        "start",
        "--otlp-http-endpoint",
        f"127.0.0.1:{http_port}",
        "--otlp-grpc-endpoint",
        f"127.0.0.1:{grpc_port}",
        "--exporter",
        "blackhole",
    ]
    if processor is not None:
        command += ["--otlp-with-trace-processor", str(processor)]
    process = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(http_port)
        yield f"http://127.0.0.1:{http_port}"
    finally:
        process.terminate()
        process.wait(30)
