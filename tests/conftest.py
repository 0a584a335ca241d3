"""Fixtures: cookiecutter kept out of the home directory, and shared virtual environments."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from support.rendering import keep_cookiecutter_home_in, project_environment, uv_settings


def pytest_configure(config: pytest.Config) -> None:
    keep_cookiecutter_home_in(Path(config.rootpath) / "build")
    # Every uv a test runs (make install included) uses this interpreter and downloads none.
    os.environ.update(uv_settings())


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shared by all xdist workers of this run."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    path = root / "shared"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def environment_for(shared_dir: Path) -> Callable[[Path], Path]:
    """Returns a function giving a virtual environment with a project's dependencies, one per
    distinct dependency set per run (see rendering.project_environment)."""

    def environment(project: Path, python: str = sys.executable) -> Path:
        return project_environment(project, shared_dir, python)

    return environment
