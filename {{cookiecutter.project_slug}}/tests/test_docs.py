"""The docs page: Swagger UI on the service's own document, from the installed packages only,
checked in a real headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from .helpers import require

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def test_the_page_loads_nothing_from_elsewhere(client: FlaskClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    sources = re.findall(r'(?:src|href|data-spec)="([^"]+)"', html)
    assert len(sources) == 4, sources
    for source in sources:
        assert ":" not in source and not source.startswith("//"), source  # no other host
        assert client.get("/" + source).status_code == 200, source
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script>" not in html  # no inline script: the policy forbids them


def test_a_setting_turns_the_page_off(app_factory: object) -> None:
    app = app_factory(API_DOCS=False)  # type: ignore[operator]
    client = app.test_client()
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 200  # other services still read it


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_a_browser_shows_the_operations(served: str, tmp_path: Path) -> None:
    found = [path for name in BROWSERS if (path := shutil.which(name))]

    def installed() -> None:
        if not found:
            raise FileNotFoundError(BROWSERS[0])

    require("Chromium", installed, "apt-get install chromium")
    browser = found[0]
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            # No calls home: the machine may have no internet, and the test needs none.
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            served + "/docs",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    rendered = set(re.findall(r'data-path="([^"]+)"', dom))
    assert {"/items", "/items/{item_id}", "/auth/login"} <= rendered, dom[-2000:]
