"""The production topology under hostile clients: gunicorn behind the project's own nginx
configuration (nginx/service.conf.template), as compose.yaml runs it.

Clients that trickle their requests in occupy nginx, never gunicorn's threads, so the service
keeps answering; what nginx refuses itself is JSON; and broken request bodies that reach
gunicorn are a 400 JSON and a WARNING line, never a 500 and a traceback."""

from __future__ import annotations

import json
import os
import resource
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from support.nginx import Nginx
from support.rendering import render
from support.services import Client, Service, free_port, gunicorn, gunicorn_command, prepare

pytestmark = pytest.mark.slow
LOGIN = {"email": "ada@example.com", "password": "pw-0123456789"}


@pytest.fixture(scope="module")
def front(
    tmp_path_factory: pytest.TempPathFactory, environment_for: Callable[[Path], Path]
) -> Iterator[tuple[Service, Nginx]]:
    tmp = tmp_path_factory.mktemp("front")
    project = render(tmp / "render")
    bin_dir = environment_for(project) / "bin"
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "INSTANCE_PATH": str(tmp / "instance"),
        "TRUSTED_PROXY_HOPS": "1",
        # The shipped defaults: two workers of four threads.
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "4",
    }
    prepare(project, bin_dir, env, [LOGIN["email"]])
    with ExitStack() as stack:
        service = gunicorn(project, bin_dir, env)
        stack.callback(service.stop)
        service.start()
        nginx = Nginx(project, [f"127.0.0.1:{service.port}"], tmp / "nginx")
        stack.callback(nginx.stop)
        nginx.start()
        yield service, nginx


def trickle(port: int, stop: threading.Event, body: bool) -> None:
    """Send a request one byte at a time, twice a second, until told to stop."""
    if body:
        request = b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        request += b"Content-Length: 4096\r\n\r\n" + b" " * 4096
    else:
        request = b"GET /items HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 4096 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for byte in request:
            if stop.wait(0.5):
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return  # the other side gave up on us: also fine


def test_trickling_clients_do_not_stop_the_service(front: tuple[Service, Nginx]) -> None:
    _, nginx = front
    stop = threading.Event()
    # Three times as many slow clients as gunicorn has threads, slow headers and slow bodies.
    clients = [
        threading.Thread(target=trickle, args=(nginx.port, stop, n % 2 == 0), daemon=True)
        for n in range(24)
    ]
    for client in clients:
        client.start()
    try:
        time.sleep(2)  # every slow client is connected and sending
        for _ in range(10):
            status, headers, body = Client(nginx.url).call("GET", "/healthz")
            assert status == 200, body
            assert headers["X-Correlation-ID"]
            status, _, body = Client(nginx.url).call("POST", "/auth/login", LOGIN)
            assert status == 200, body
            time.sleep(0.2)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=10)


# One address's half-sent requests: the reproduction used about 3,000 (1,100 already
# made 6 of 21 probes fail against 1,024 worker connections).
FLOOD_CONNECTIONS = 3000
FLOOD_ADDRESS = "127.0.0.2"  # another loopback address than the probes' 127.0.0.1


def test_one_address_holding_thousands_of_half_sent_requests_does_not_stop_the_others(
    front: tuple[Service, Nginx],
) -> None:
    _, nginx = front
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = FLOOD_CONNECTIONS + 1024
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= wanted, "raise ulimit -n"
    held: list[socket.socket] = []
    try:
        for _ in range(FLOOD_CONNECTIONS):
            sock = socket.socket()
            sock.bind((FLOOD_ADDRESS, 0))
            sock.connect(("127.0.0.1", nginx.port))
            sock.sendall(b"GET /items HTTP/1.1\r\nHost: x\r\nX-Never-Ends: ")
            held.append(sock)
        answered = 0
        for _ in range(20):
            status, headers, _body = Client(nginx.url).call("GET", "/healthz")
            answered += status == 200 and bool(headers.get("X-Correlation-ID"))
        assert answered == 20, f"{answered} of 20 probes answered during the flood"
    finally:
        for sock in held:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    errors = (nginx.tmp / "error.log").read_text()
    assert "worker_connections are not enough" not in errors


def test_what_the_front_passes_gunicorn_answers_in_json(front: tuple[Service, Nginx]) -> None:
    """What nginx passed on but gunicorn refused with its own HTML page, without the id."""
    _, nginx = front
    cases = {
        "a request line of 6,000 bytes": b"GET /items?q=" + b"a" * 6000 + b" HTTP/1.1\r\n",
        "100 headers": b"GET /healthz HTTP/1.1\r\n"
        + b"".join(b"X-H%d: v\r\n" % n for n in range(100)),
        "raw UTF-8 in the target": b"GET /items/\xc3\xa9 HTTP/1.1\r\n",
        "a method gunicorn calls invalid": b"GE /healthz HTTP/1.1\r\n",
        "TRACE": b"TRACE /healthz HTTP/1.1\r\n",
        "a contradicting scheme header": b"GET /healthz HTTP/1.1\r\nX-Forwarded-Ssl: on\r\n",
        # nginx passes it on and gunicorn refuses it: its worker answers in JSON.
        "a control byte in a header value": b"GET /healthz HTTP/1.1\r\nX-Odd: a\x01b\r\n",
        "two Content-Types": b"POST /auth/login HTTP/1.1\r\nContent-Type: application/json\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}",
    }
    for name, start in cases.items():
        request = start if start.endswith(b"{}") else start + b"Host: x\r\n\r\n"
        request = request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
        answer = raw_request(nginx.port, request, half_close=False)
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert b"application/json" in head, (name, answer[:300])
        body = json.loads(payload)
        # The service's id header, or nginx's error page (its X-Request-ID, in the body too).
        assert b"x-correlation-id:" in head.lower() or body["correlation_id"], name
        assert b"nosniff" in head, name
        assert int(head.split()[1]) < 500, (name, head)


def test_links_and_paths_through_the_front(front: tuple[Service, Nginx]) -> None:
    """A long undeclared query used to be copied into Link until nginx's proxy buffer
    overflowed (502); `//` was a redirect to the client's Host."""
    _, nginx = front
    client = Client(nginx.url)
    status, _, body = client.call("POST", "/auth/login", LOGIN)
    assert status == 200
    token = body["csrf_token"]
    for n in range(2):
        status, _, _ = client.call(
            "POST", "/items", {"name": f"front {n}"}, {"X-CSRF-Token": token}
        )
        assert status == 201
    status, headers, _ = client.call("GET", "/items?limit=1&_external=1&pad=" + "x" * 3600)
    assert status == 200
    assert headers["Link"].startswith("</items?") and len(headers["Link"]) < 200
    status, headers, body = client.call("GET", "/items//1", None, {"Host": "evil.example"})
    assert (status, body["error"]) == (404, "not_found") and "Location" not in headers


def test_what_nginx_refuses_is_json(front: tuple[Service, Nginx]) -> None:
    _, nginx = front
    status, headers, body = Client(nginx.url).call(
        "POST", "/auth/login", {"email": "x" * 2_000_000}
    )
    assert status == 413
    assert headers["Content-Type"] == "application/json"
    assert body["error"] == "request_entity_too_large"
    assert body["correlation_id"] == headers["X-Request-ID"]
    status, _, body = Client(nginx.url).call("GET", "/" + "a" * 20_000)
    assert (status, body["error"]) == (414, "request_uri_too_long")
    answer = raw_request(nginx.port, b"NOT A REQUEST\r\n\r\n")
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and json.loads(payload)["error"] == "bad_request"


def raw_request(
    port: int, payload: bytes, *, close_early: bool = False, half_close: bool = True
) -> bytes:
    """Send bytes, read the answer until the server closes. `half_close`: say that nothing
    more comes (nginx takes that as the client leaving when it proxies the request)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        if close_early:
            return b""
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


CHUNKED = (
    b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
)


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # a chunk size that is not hexadecimal
        b"2\r\n{}XX0\r\n\r\n",  # a chunk without its terminator
        b'40\r\n{"email": "a@b.c"',  # the body ends before the chunk does
    ],
    ids=["bad-size", "no-terminator", "truncated"],
)
def test_broken_chunked_bodies_are_400_json(front: tuple[Service, Nginx], body: bytes) -> None:
    service, _ = front
    answer = raw_request(service.port, CHUNKED + body)
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer
    assert json.loads(payload)["error"] == "bad_request"


def test_a_client_leaving_mid_upload_leaves_no_error(front: tuple[Service, Nginx]) -> None:
    service, _ = front
    raw_request(service.port, CHUNKED + b'100\r\n{"email"', close_early=True)
    raw_request(service.port, CHUNKED + b"zz\r\n")
    service.wait_for_line(lambda line: line.get("message") == "request body unreadable")
    time.sleep(0.5)
    errors = [line for line in service.log_lines() if line.get("level") in {"ERROR", "CRITICAL"}]
    assert errors == []


def test_gunicorn_opens_no_shared_control_socket(
    tmp_path: Path, environment_for: Callable[[Path], Path]
) -> None:
    """gunicorn's default control socket path is shared by every instance of one user."""
    project = render(tmp_path)
    python = environment_for(project) / "bin" / "python"
    show = (
        "import json, runpy; settings = runpy.run_path('gunicorn.conf.py'); "
        "print(json.dumps({name: settings.get(name) for name in "
        "('control_socket', 'control_socket_disable', 'bind')}))"
    )

    def settings(**environ: str) -> dict[str, object]:
        environ = {**os.environ, **environ}
        result = subprocess.run(
            [str(python), "-c", show], cwd=project, env=environ, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout))

    default = settings()
    assert default["control_socket_disable"] is True
    assert default["bind"] == "127.0.0.1:8000"
    own = settings(GUNICORN_CONTROL_SOCKET=str(tmp_path / "instance-1.ctl"))
    assert own["control_socket"] == str(tmp_path / "instance-1.ctl")
    assert own["control_socket_disable"] is None


def test_a_production_start_says_what_is_on(front: tuple[Service, Nginx]) -> None:
    service, _ = front
    starts = [line for line in service.log_lines() if line.get("message") == "service configured"]
    assert len(starts) == 2  # one per worker
    for line in starts:
        on = {name for name in ("secure_cookies", "hsts", "api_docs", "debug") if line[name]}
        assert (line["app_env"], on) == ("production", {"secure_cookies", "hsts"})
        assert {"APP_ENV", "SECRET_KEY", "TRUSTED_PROXY_HOPS"} <= set(
            line["settings_from"]["environment"]
        )


def test_the_development_env_file_stops_a_production_start(
    tmp_path: Path, environment_for: Callable[[Path], Path]
) -> None:
    """`make run` writes .env with APP_ENV=development; the production command started in
    the same folder used to load it: no Secure cookies, no HSTS, /docs on, and no word."""
    project = render(tmp_path)
    bin_dir = environment_for(project) / "bin"
    key = secrets.token_urlsafe(48)
    (project / ".env").write_text((project / ".env.example").read_text() + f"SECRET_KEY={key}\n")
    program, *arguments = gunicorn_command(project.name.replace("-", "_"))
    environ = {name: value for name, value in os.environ.items() if name != "APP_ENV"}
    result = subprocess.run(
        [str(bin_dir / program), *arguments],
        cwd=project,
        env={**environ, "PORT": str(free_port()), "INSTANCE_PATH": str(tmp_path / "instance")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0, result.stdout
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line["message"].startswith("configuration error")]
    assert errors, result.stdout + result.stderr
    assert f"{project / '.env'} is a development file (APP_ENV=development)" in errors[0]["message"]
    assert "remove it" in errors[0]["message"]
    # One line, no traceback. (gunicorn's master, stopping, may log its own.)
    assert all("exc_info" not in line for line in errors)
