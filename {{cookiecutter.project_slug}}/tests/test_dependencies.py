"""The tests run on what uv.lock pins (every installed package the lock names is the
release it pins), and the ruff that checks a commit is the locked one."""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def locked_versions() -> dict[str, set[Version]]:
    """Package name -> its locked versions (one, or one per platform when markers split it)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    versions: dict[str, set[Version]] = defaultdict(set)
    for package in lock["package"]:
        versions[package["name"]].add(Version(package["version"]))
    return versions


def test_every_installed_package_is_the_release_the_lock_pins() -> None:
    locked = locked_versions()
    drifted = {}
    for distribution in metadata.distributions():
        name = canonicalize_name(distribution.metadata["Name"])
        if name in locked and Version(distribution.version) not in locked[name]:
            pinned = ", ".join(sorted(map(str, locked[name])))
            drifted[name] = f"{distribution.version} installed, {pinned} locked"
    assert not drifted, f"run `make install` (uv sync --locked): {drifted}"


def test_pre_commit_runs_the_locked_ruff() -> None:
    config = (ROOT / ".pre-commit-config.yaml").read_text()
    # ruff-pre-commit would bring a ruff of its own: a second version that drifts from the lock.
    assert "ruff-pre-commit" not in config
    entries = re.findall(r"^\s*entry:\s*(.*ruff.*)$", config, re.M)
    assert sorted(entries) == [
        "uv run --locked ruff check --fix --force-exclude",
        "uv run --locked ruff format --force-exclude",
    ]
    assert Version(metadata.version("ruff")) in locked_versions()["ruff"]
