"""Over HTTP: gunicorn (sync and gthread) under wrk, and a worker's memory over many requests."""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from support.services import Client, Service

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk() -> str | None:
    return shutil.which("wrk")


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise RuntimeError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(
    url: str,
    seconds: int,
    connections: int,
    cookie: str | None = None,
    post: tuple[str, dict[str, str]] | None = None,
) -> Load:
    """One wrk run, one wrk thread: the server under test needs the other core. `post`: a
    JSON body and its headers, sent with POST by a wrk script."""
    command = [wrk() or "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if post is not None:
            body, headers = post
            script.write(f'wrk.method = "POST"\nwrk.body = [[{body}]]\n')
            script.flush()
            command += ["-s", script.name, "-H", "Content-Type: application/json"]
            for name, value in headers.items():
                command += ["-H", f"{name}: {value}"]
        output = subprocess.run(
            [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    if rate is None or not percentiles:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    # gunicorn's sync worker closes every connection: wrk counts those as read errors, which
    # are not failures. Answers other than 2xx are.
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Load(
        requests_per_second=float(rate.group(1)),
        p50_ms=_milliseconds(percentiles["50"]),
        p99_ms=_milliseconds(percentiles["99"]),
        errors=int(failed.group(1)) if failed else 0,
    )


def worker_pid(service: Service) -> int:
    """The one worker of a gunicorn started with WEB_CONCURRENCY=1."""
    assert service.process is not None
    children = Path(f"/proc/{service.process.pid}/task/{service.process.pid}/children")
    (pid,) = children.read_text().split()
    return int(pid)


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def hammer(port: int, paths: list[tuple[str, str | None]], count: int) -> None:
    """`count` requests over the given (path, cookie) pairs in turn, one connection each
    (gunicorn's sync worker closes every connection anyway)."""
    for number in range(count):
        path, cookie = paths[number % len(paths)]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
        connection.close()


def logged_in_cookie(client: Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())
