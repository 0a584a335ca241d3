"""The benchmark (scripts/benchmark) runs and reports every part it promises.

A short run with few calls, next to other tests: its figures mean nothing here and nothing
is asserted about them (docs/PERFORMANCE.md holds a real run's). What is asserted is that
every measurement was made, and the I/O counts, which are exact.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from support.rendering import ROOT, run
from support.servers import require

IN_PROCESS_ROWS = {
    "bare Flask: /healthz",
    "hand-written hooks: /healthz",
    "flask-log-request-id: /healthz",
    "service: /healthz",
    "bare Flask: 1 log line",
    "service: 1 log line",
    "flask-log-request-id: 1 log line",
    "minimal SQLAlchemy app: item by id",
    "service: GET /items/<id>",
    "service: current_context + user, logged in",
    "service: a non-probe route",
    "service: item read, hand-built dict",
    "service: POST /items, logged in",
    "minimal SQLAlchemy app: user by id",
    "minimal SQLAlchemy app: create item",
    "honest peer: /healthz",
    "honest peer: a plain route",
    "honest peer: GET /auth/me, logged in",
    "honest peer: GET /items/<id>",
    "honest peer: POST /items, logged in",
}
IO = {
    "/healthz": {"database_checkouts": 0, "session_reads": 0, "session_writes": 0},
    "/healthz with a session cookie": {
        "database_checkouts": 0,
        "session_reads": 0,
        "session_writes": 0,
    },
    "anonymous GET /items/<id>": {"database_checkouts": 1, "session_reads": 0, "session_writes": 0},
    "logged-in GET /auth/me": {"database_checkouts": 1, "session_reads": 1, "session_writes": 0},
    "logged-in GET /items/<id>": {"database_checkouts": 1, "session_reads": 1, "session_writes": 0},
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    for server in ("postgresql", "redis"):
        require(server)
    if shutil.which("wrk") is None:
        message = "wrk is not installed: run scripts/servers (it installs it)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    output = tmp_path_factory.mktemp("benchmark")
    run([sys.executable, "-m", "benchmarks", "--quick", "--output", str(output)], cwd=ROOT)
    text = (output / "results.md").read_text()
    assert "Budgets:" in text and "What each observability option costs" in text
    return json.loads((output / "results.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "variant",
    [
        "sqlite + filesystem sessions",
        "postgresql + redis sessions",
        "sqlite + tracing",
        "sqlite + metrics",
    ],
)
def test_every_part_is_measured(
    results: dict[str, dict[str, dict[str, object]]], variant: str
) -> None:
    measured = results["variants"][variant]
    in_process = measured["in_process"]
    assert isinstance(in_process, dict)
    rows = {row["name"] for row in in_process["timings"]}
    assert rows >= IN_PROCESS_ROWS
    # The tracing variant also measures OpenTelemetry's Flask instrumentation alone.
    assert ("Flask instrumentation alone: a plain route" in rows) == ("tracing" in variant)
    # The metrics variant also measures its metered rows without the middleware.
    unmetered = {
        f"service without its metrics middleware: {label}"
        for label in ("/healthz", "a non-probe route", "1 log line", "item read")
    }
    assert (unmetered <= rows) == ("metrics" in variant)
    assert bool(in_process["without_metrics"]) == ("metrics" in variant)
    assert in_process["io"] == IO
    http = measured["http"]
    assert isinstance(http, dict)
    # A quick run drives the sync worker only (a full one, gthread too).
    for server in ("service", "honest peer"):
        for endpoint in (
            "GET /healthz",
            "GET /items/<id>",
            "GET /auth/me, logged in",
            "POST /items, logged in",
        ):
            run_ = http[f"sync: {server}: {endpoint}"]
            assert run_["requests_per_second"] > 0 and run_["errors"] == 0, (server, endpoint)
    assert http["sync: bare Flask: GET /healthz"]["requests_per_second"] > 0
    memory = measured["memory"]
    assert isinstance(memory, dict) and memory["rss_after_kib"] > 0


def test_each_option_is_measured_against_the_variant_it_is_added_to(
    results: dict[str, dict[str, str]],
) -> None:
    assert results["options"] == {
        "sqlite + tracing": "sqlite + filesystem sessions",
        "sqlite + metrics": "sqlite + filesystem sessions",
    }


def test_the_machine_is_recorded(results: dict[str, dict[str, str]]) -> None:
    assert {"cpu", "cores", "python", "date"} <= results["machine"].keys()


def test_the_command_is_the_documented_one() -> None:
    script = (ROOT / "scripts" / "benchmark").read_text()
    assert "python -m benchmarks" in script
    assert "scripts/benchmark" in (ROOT / "docs" / "PERFORMANCE.md").read_text()
    assert Path(ROOT / "scripts" / "benchmark").stat().st_mode & 0o111


def test_every_budget_gets_a_verdict(results: dict[str, Any]) -> None:
    """From the quick run's own figures: each budget of benchmarks/__main__.py is judged,
    and a missed one is marked (its figures mean nothing here)."""
    from benchmarks.__main__ import BUDGETS
    from benchmarks.report import report

    text, verdicts = report(results, BUDGETS)
    for fragment in (
        f"≤ +{BUDGETS['healthz_over_bare_us']:.0f} µs",
        f"≤ x{BUDGETS['item_ratio']:.2f}",
        f"≤ +{BUDGETS['api_layer_us']:.0f} µs",
        f"budget ≤ {BUDGETS['overhead_vs_peer']:.2f}",
        "untraced probe",
        f"x{BUDGETS['traced_over_instrumentation']:.2f}",
        f"in one process, ≤ +{BUDGETS['metrics_us']:.0f} µs",
        f"≤ {BUDGETS['memory_growth_kib']:.0f} KiB",
    ):
        assert fragment in text, fragment
    # Per budgeted variant: /healthz, item ratio, API layer, five peer endpoints, five I/O
    # rows, memory; per option variant: five I/O rows and memory; tracing 2, metrics 1.
    assert len(verdicts) == 2 * (3 + 5 + 5 + 1) + 2 * (5 + 1) + 3
    assert text.count("**MISSES**") == verdicts.count(False)
