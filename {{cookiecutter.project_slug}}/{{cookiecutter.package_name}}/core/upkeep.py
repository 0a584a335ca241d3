"""Upkeep: what must be removed regularly, in one command, `flask prune`.

Each module that keeps something that expires registers how to remove it (`register`):
stored `Idempotency-Key` responses past their retention (core/idempotency.py), expired API
tokens (api_tokens.py), session files past their lifetime when sessions are files. `flask
prune` runs every task; each writes one log line with what it removed and how long it took,
so the last run's health is in the logs (alert on `upkeep failed`, or on no `upkeep done`
for a day). A task that fails does not stop the others; the command then exits 1.
docs/production.md shows how to run it daily (cron, a systemd timer, a Kubernetes
CronJob); with Celery, its beat runs the same tasks on a schedule (core/jobs.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import click
from flask import Flask, current_app

from .context import with_correlation_id

# What the application may import from here (tests/test_architecture.py holds it to it).
__all__ = ["init_app", "register", "run_all"]

Task = Callable[[], int]
_EXTENSION = "upkeep"
log = logging.getLogger(__name__)


def register(app: Flask, name: str, task: Task) -> None:
    """Add `task` (run in an app context; returns how many things it removed) to `flask
    prune`, under `name` (what it removes, in the plural: "expired API tokens")."""
    app.extensions.setdefault(_EXTENSION, {})[name] = task


def run_all() -> dict[str, int | None]:
    """Run every registered task, each logged: what each removed (None: it failed)."""
    results: dict[str, int | None] = {}
    for name, task in current_app.extensions.get(_EXTENSION, {}).items():
        started = time.perf_counter()
        try:
            results[name] = task()
        except Exception:
            log.exception("upkeep failed", extra={"task": name})
            results[name] = None
            continue
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        log.info(
            "upkeep done",
            extra={"task": name, "removed": results[name], "duration_ms": duration_ms},
        )
    return results


@click.command("prune")
@with_correlation_id
def prune_command() -> None:
    """Remove everything that has expired (run it daily)."""
    results = run_all()
    for name, removed in results.items():
        if removed is not None:
            click.echo(f"Removed {removed} {name}.")
    if None in results.values():
        raise click.ClickException("some upkeep failed: see the log lines above")


def init_app(app: Flask) -> None:
    app.cli.add_command(prune_command)
