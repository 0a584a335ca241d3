"""Running rendered services as real gunicorn processes on loopback, and talking to them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Answer = tuple[int, dict[str, str], Any]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """One service process; its stdout (JSON log lines) is kept in a file."""

    project: Path
    command: list[str]
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=lambda: Path(tempfile.mkstemp(suffix=".log")[1]))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30, readiness_path: str = "/readyz") -> Service:
        # Appended to: a restarted service keeps the lines of its previous run.
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.project,
                env={
                    **os.environ,
                    **self.env,
                    # Log lines reach the file as they are written, not when a buffer fills.
                    "PYTHONUNBUFFERED": "1",
                    "PORT": str(self.port),
                    "BIND": f"127.0.0.1:{self.port}",
                },
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.command} exited:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + readiness_path, timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise AssertionError(f"{self.url} did not become ready:\n{self.output()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def kill(self) -> None:
        """A crash: every process of the service dies at once, mid-request or not."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_line(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10
    ) -> None:
        """Wait for a log line: gunicorn writes its access line after the response."""
        deadline = time.monotonic() + timeout
        while not any(predicate(line) for line in self.log_lines()):
            if time.monotonic() > deadline:
                raise AssertionError(f"no such line in {self.url}'s log:\n{self.output()}")
            time.sleep(0.1)

    def log_lines(self) -> list[dict[str, Any]]:
        """Every JSON line the process wrote (other lines are ignored)."""
        lines = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines


def gunicorn_command(package: str) -> list[str]:
    """The production command: the README's, the Dockerfile's and the tests' alike."""
    return ["gunicorn", "-c", "gunicorn.conf.py", f"{package}:create_app()"]


def prepare(project: Path, bin_dir: Path, env: dict[str, str], emails: list[str]) -> None:
    """Build the schema and create users (password pw-0123456789), as an operator would."""
    flask = [str(bin_dir / "flask"), "--app", project.name.replace("-", "_")]
    subprocess.run([*flask, "init-db"], cwd=project, env={**os.environ, **env}, check=True)
    for email in emails:
        subprocess.run(
            [*flask, "create-user", email, "--password", "pw-0123456789"],
            cwd=project,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )


def create_token(project: Path, bin_dir: Path, env: dict[str, str], email: str) -> str:
    """`flask create-token`, as an operator runs it: the token is its only line on stdout."""
    result = subprocess.run(
        [
            str(bin_dir / "flask"),
            "--app",
            project.name.replace("-", "_"),
            "create-token",
            email,
            "--name",
            "caller",
        ],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def gunicorn(project: Path, bin_dir: Path, env: dict[str, str]) -> Service:
    program, *arguments = gunicorn_command(project.name.replace("-", "_"))
    return Service(project, [str(bin_dir / program), *arguments], env)


class Client:
    """A small JSON client, standard library only. It keeps the cookies it is given and
    sends them back even over plain HTTP: production cookies are Secure, and the tests
    talk to loopback without TLS."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener()

    def _remember(self, headers: Any) -> None:
        for value in headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            cookie = rest.split(";", 1)[0]
            if "max-age=0" in value.lower() or "expires=thu, 01 jan 1970" in value.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = cookie

    def login(self, credentials: dict[str, str], headers: dict[str, str] | None = None) -> Answer:
        """POST /auth/login, again while it answers 503: logins at once find each worker's
        password-hashing slot busy and are told to retry in a moment, as clients do."""
        for _attempt in range(50):
            answer = self.call("POST", "/auth/login", credentials, headers)
            if answer[0] != 503:
                break
            time.sleep(0.2)
        return answer

    def call(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        request = urllib.request.Request(self.base + path, method=method, data=data, headers=sent)
        try:
            with self.opener.open(request, timeout=30) as response:
                self._remember(response.headers)
                payload = response.read()
                return response.status, dict(response.headers), json.loads(payload or b"null")
        except urllib.error.HTTPError as error:
            self._remember(error.headers)
            return error.code, dict(error.headers), json.loads(error.read() or b"null")
