"""Rendering the template and running commands, for every template test."""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parents[1]
ANSWERS: dict[str, object] = json.loads((ROOT / "cookiecutter.json").read_text())
# Jinja that must never survive rendering; GitHub Actions' own ${{ ... }} expressions may.
LEFTOVER_MARKER = re.compile(r"(?<!\$)\{\{|\{%|%\}|\{#|cookiecutter")


def load_hook(name: str) -> ModuleType:
    """A hook script as a module, so its small functions can be tested one by one."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "hooks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(output_dir: Path, answers: Mapping[str, str] | None = None) -> Path:
    """Render the template with `answers` over the defaults; returns the project folder."""
    answers = dict(answers or {})
    # pytest-cookies and cookiecutter ignore unknown keys: a typo would test the defaults.
    unknown = set(answers) - set(ANSWERS)
    if unknown:
        raise KeyError(f"not in cookiecutter.json: {sorted(unknown)}")
    return Path(
        cookiecutter(str(ROOT), no_input=True, extra_context=answers, output_dir=str(output_dir))
    )


def run(
    args: list[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure the assertion shows its whole output."""
    result = subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{' '.join(args)} exited {result.returncode} in {cwd}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    return result


def dependency_key(project: Path) -> str:
    """Projects whose locks pin the same packages can share one environment (the project's
    own entry, which names it, is left out)."""
    lock = tomllib.loads((project / "uv.lock").read_text())
    packages = [
        {**package, "name": "", "version": ""} if package["source"].get("editable") else package
        for package in lock["package"]
    ]
    return hashlib.sha256(json.dumps(packages, sort_keys=True).encode()).hexdigest()[:16]


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is missing: install requirements-dev.txt"
    return found


def keep_cookiecutter_home_in(build: Path) -> None:
    """Keep cookiecutter's replay files and clones out of the user's home directory."""
    home = build / "cookiecutter-home"
    home.mkdir(parents=True, exist_ok=True)
    config_file = home / "config.yaml"
    config_file.write_text(
        f"cookiecutters_dir: {home / 'cookiecutters'}\nreplay_dir: {home / 'replay'}\n"
    )
    os.environ["COOKIECUTTER_CONFIG"] = str(config_file)


def uv_settings(python: str = sys.executable) -> dict[str, str]:
    """uv's environment for every command the tests run: this interpreter (or `python`),
    never a download."""
    return {
        "UV_PYTHON": python,
        "UV_PYTHON_DOWNLOADS": "never",
        "PATH": f"{Path(uv()).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def project_environment(project: Path, shared_dir: Path, python: str = sys.executable) -> Path:
    """A virtual environment installed from a project's uv.lock, as `make install` does it
    (`uv sync --locked`: refused if the lock is out of date with pyproject.toml), without the
    project itself, so that renders with the same lock share it; one per lock (and Python)
    per run."""
    suffix = (
        "" if python == sys.executable else "-" + hashlib.sha256(python.encode()).hexdigest()[:8]
    )
    venv = shared_dir / f"venv-{dependency_key(project)}{suffix}"
    with open(shared_dir / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "ready").exists():
            run(
                [uv(), "sync", "--locked", "--no-install-project", "--quiet"],
                cwd=project,
                env={**uv_settings(python), "UV_PROJECT_ENVIRONMENT": str(venv)},
            )
            (venv / "ready").touch()
    return venv


def newest_python() -> str:
    """The Python of the generated Dockerfile (3.13): pyenv's or the one on PATH, if it
    runs (a pyenv shim may not), or else installed by uv (a standalone build, into uv's own
    folder)."""
    candidates = [
        *sorted(str(path) for path in Path.home().glob(".pyenv/versions/3.13*/bin/python3.13")),
        shutil.which("python3.13"),
    ]
    for candidate in filter(None, candidates):
        if (
            subprocess.run([candidate, "--version"], capture_output=True, check=False).returncode
            == 0
        ):
            return candidate
    run([uv(), "python", "install", "--quiet", "3.13"], cwd=ROOT)
    return run([uv(), "python", "find", "3.13"], cwd=ROOT).stdout.strip()
