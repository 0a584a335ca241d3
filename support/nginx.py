"""A real nginx running a rendered project's own nginx/service.conf.template, filled in the way
the official nginx image fills it in (only the named ${VARIABLES}), so that what the tests run
is what the project ships."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .services import free_port

# The shipped nginx.conf names the container's user and paths; a test runs it on this
# machine with exactly these lines changed (each must be there, once).
MACHINE_LINES = {
    "user nginx;": "user root;",
    "pid /var/run/nginx.pid;": "pid {tmp}/nginx.pid;",
    "error_log stderr warn;": "error_log {tmp}/error.log warn;",
    "include /etc/nginx/conf.d/*.conf;": "include {tmp}/conf.d/*.conf;",
}
# Where nginx keeps request bodies and responses on their way: the compiled-in paths are
# the system nginx's.
TEMP_PATHS = """client_body_temp_path {tmp}/body;
proxy_temp_path {tmp}/proxy;
fastcgi_temp_path {tmp}/fastcgi;
uwsgi_temp_path {tmp}/uwsgi;
scgi_temp_path {tmp}/scgi;
"""


def main_conf(shipped: str, tmp: Path) -> str:
    """The project's nginx/nginx.conf with this machine's user and paths."""
    for line, replacement in MACHINE_LINES.items():
        assert shipped.count(line) == 1, f"nginx.conf no longer has {line!r} once"
        shipped = shipped.replace(line, replacement.format(tmp=tmp))
    return shipped


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        pytest.fail("nginx is not installed: run scripts/servers (or apt-get install nginx)")
    return found


def fill_in(template: str, values: dict[str, str]) -> str:
    """envsubst restricted to `values`, as the nginx image does: nginx's own $variables stay."""
    return re.sub(r"\$\{(\w+)\}", lambda match: values.get(match[1], match[0]), template)


@dataclass
class Nginx:
    project: Path
    upstreams: list[str]
    tmp: Path
    max_body_size: str = "1m"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        template = (self.project / "nginx" / "service.conf.template").read_text()
        values = {
            # Several instances: the first address, then "; server <address>" for each other.
            "UPSTREAM": "; server ".join(self.upstreams),
            "LISTEN_PORT": f"127.0.0.1:{self.port}",
            "MAX_BODY_SIZE": self.max_body_size,
        }
        (self.tmp / "conf.d").mkdir(parents=True, exist_ok=True)
        (self.tmp / "conf.d" / "service.conf").write_text(fill_in(template, values))
        (self.tmp / "conf.d" / "temp-paths.conf").write_text(TEMP_PATHS.format(tmp=self.tmp))
        shipped = (self.project / "nginx" / "nginx.conf").read_text()
        (self.tmp / "nginx.conf").write_text(main_conf(shipped, self.tmp))
        command = [nginx_binary(), "-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf")]
        subprocess.run([*command, "-t"], check=True, capture_output=True)
        self.process = subprocess.Popen([*command, "-g", "daemon off;"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).close()
                return self
            except urllib.error.HTTPError:
                return self  # nginx answers (the service behind it may not yet)
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise AssertionError(f"nginx did not start:\n{(self.tmp / 'error.log').read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
