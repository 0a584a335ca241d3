"""Fixtures: cookiecutter kept out of the home directory, and shared virtual environments."""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .rendering import dependency_key, run, uv


def pytest_configure(config: pytest.Config) -> None:
    # Keep cookiecutter's replay files and clones out of the user's home directory.
    home = Path(config.rootpath) / "build" / "cookiecutter-home"
    home.mkdir(parents=True, exist_ok=True)
    config_file = home / "config.yaml"
    config_file.write_text(
        f"cookiecutters_dir: {home / 'cookiecutters'}\nreplay_dir: {home / 'replay'}\n"
    )
    os.environ["COOKIECUTTER_CONFIG"] = str(config_file)


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
    """Returns a function giving a fresh virtual environment with a project's dependencies.

    One environment per distinct dependency set per run, built from the project's own
    pyproject.toml (dependencies and the dev extra); a lock file lets parallel workers share it.
    """

    def environment(project: Path) -> Path:
        venv = shared_dir / f"venv-{dependency_key(project)}"
        with open(shared_dir / f"{venv.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (venv / "ready").exists():
                run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], cwd=project)
                run(
                    [
                        uv(),
                        "pip",
                        "install",
                        "--quiet",
                        "--python",
                        str(venv / "bin" / "python"),
                        "-r",
                        "pyproject.toml",
                        "--extra",
                        "dev",
                    ],
                    cwd=project,
                )
                (venv / "ready").touch()
        return venv

    return environment
