"""The generated project's tooling: CI workflows, dependency upkeep, pre-commit, editor
config and license. The CI and upkeep files are validated against their published schemas
(check-jsonschema carries them, so no network is needed)."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.rendering import load_hook, render, run

post_gen = load_hook("post_gen_project")

# The commands every CI flavour must run, each provided by the project's dev group and run
# from the environment `uv sync --locked` installed.
CHECKS = {
    "uv run --no-sync ruff check .": "ruff",
    "uv run --no-sync ruff format --check .": "ruff",
    "uv run --no-sync mypy": "mypy",
    "uv run --no-sync pytest": "pytest",
}


def dev_tools(project: Path) -> set[str]:
    groups = tomllib.loads((project / "pyproject.toml").read_text())["dependency-groups"]
    return {line.split(">")[0].split("=")[0] for line in groups["dev"]}


def validate(path: Path, schema: str) -> None:
    """check-jsonschema with one of the schemas it vendors (`vendor.dependabot`...)."""
    program = Path(sys.executable).parent / "check-jsonschema"
    run([str(program), "--builtin-schema", f"vendor.{schema}", str(path)], cwd=path.parent)


def commands_of(steps: list[str]) -> str:
    return "\n".join(steps)


def test_post_gen_hook_keeps_only_the_chosen_ci_folder() -> None:
    assert post_gen.unwanted_paths({"ci": "github"}) == []
    assert post_gen.unwanted_paths({"ci": "gitlab"}) == [".github"]
    assert post_gen.unwanted_paths({"ci": "none"}) == [".github"]


@pytest.mark.parametrize(
    ("answers", "services"),
    [
        ({}, set()),
        ({"database": "postgresql", "session_store": "redis"}, {"postgres", "redis"}),
        ({"database": "mysql", "background_jobs": "celery"}, {"mariadb", "redis"}),
    ],
)
def test_github_workflow(tmp_path: Path, answers: dict[str, str], services: set[str]) -> None:
    project = render(tmp_path, answers)
    assert not (project / ".gitlab-ci.yml").exists()
    text = (project / ".github" / "workflows" / "ci.yml").read_text()
    assert "${{ github.workflow }}-${{ github.ref }}" in text  # survived rendering
    workflow: dict[str, Any] = yaml.safe_load(text)
    job = workflow["jobs"]["test"]
    assert set(job.get("services", {})) == services
    run = commands_of([step["run"] for step in job["steps"] if "run" in step])
    for command, tool in CHECKS.items():
        assert command in run
        assert tool in dev_tools(project)
    assert "uv sync --locked" in run and "pip install" not in run
    assert job["env"]["CI"] == "true"
    validate(project / ".github" / "workflows" / "ci.yml", "github-workflows")


@pytest.mark.parametrize(
    ("answers", "services"),
    [({"ci": "gitlab"}, set()), ({"ci": "gitlab", "database": "postgresql"}, {"postgres"})],
)
def test_gitlab_pipeline(tmp_path: Path, answers: dict[str, str], services: set[str]) -> None:
    project = render(tmp_path, answers)
    assert not (project / ".github").exists()
    pipeline: dict[str, Any] = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    job = pipeline["test"]
    assert {service["alias"] for service in job.get("services", [])} == services
    script = commands_of(job["script"])
    for command, tool in CHECKS.items():
        assert command in script
        assert tool in dev_tools(project)
    assert "uv sync --locked" in script and "pip install" not in script
    assert pipeline["default"]["image"].startswith("ghcr.io/astral-sh/uv:")
    validate(project / ".gitlab-ci.yml", "gitlab-ci")


def test_ci_runs_the_oldest_and_the_newest_python(tmp_path: Path) -> None:
    """The floor is stated once, in pyproject.toml's requires-python; CI tests it and the
    Python of the image, which is the default."""
    github = render(tmp_path / "github", {"ci": "github"})
    floor = tomllib.loads((github / "pyproject.toml").read_text())["project"]["requires-python"]
    oldest = floor.removeprefix(">=")
    (image,) = set(re.findall(r"FROM python:(\d+\.\d+)-slim", (github / "Dockerfile").read_text()))
    assert (oldest, image) == ("3.11", "3.13")
    workflow: dict[str, Any] = yaml.safe_load((github / ".github/workflows/ci.yml").read_text())
    assert workflow["jobs"]["test"]["strategy"]["matrix"]["python"] == [oldest, image]
    gitlab = render(tmp_path / "gitlab", {"ci": "gitlab"})
    pipeline: dict[str, Any] = yaml.safe_load((gitlab / ".gitlab-ci.yml").read_text())
    assert pipeline["default"]["image"].endswith(f"-python{image}-bookworm-slim")
    assert pipeline["test-oldest-python"]["extends"] == "test"
    assert pipeline["test-oldest-python"]["image"].endswith(f"-python{oldest}-bookworm-slim")


def test_no_ci(tmp_path: Path) -> None:
    project = render(tmp_path, {"ci": "none"})
    assert not (project / ".github").exists()
    assert not (project / ".gitlab-ci.yml").exists()


def test_pre_commit_and_editor_config(tmp_path: Path) -> None:
    project = render(tmp_path)
    config: dict[str, Any] = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "trailing-whitespace", "end-of-file-fixer"} <= hooks
    assert "root = true" in (project / ".editorconfig").read_text()


def test_pre_commit_runs_the_ruff_the_lock_pins(tmp_path: Path) -> None:
    """The ruff hooks are the project's own (`uv run --locked ruff`), so their ruff is the
    locked one; run as pre-commit runs them (entry, then the files), they pass on a fresh
    render. (pre-commit itself is not run: it would fetch the other hooks from GitHub.)"""
    project = render(tmp_path)
    config: dict[str, Any] = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    ruff_hooks = [
        hook for repo in config["repos"] for hook in repo["hooks"] if "ruff" in hook["id"]
    ]
    assert {hook["id"] for hook in ruff_hooks} == {"ruff", "ruff-format"}
    assert all("ruff-pre-commit" not in repo["repo"] for repo in config["repos"])
    lock = tomllib.loads((project / "uv.lock").read_text())
    (locked,) = [p["version"] for p in lock["package"] if p["name"] == "ruff"]
    version = run(["uv", "run", "--locked", "ruff", "--version"], cwd=project).stdout
    assert version.split() == ["ruff", locked]
    files = sorted(str(path.relative_to(project)) for path in project.rglob("*.py"))
    for hook in ruff_hooks:
        assert hook["entry"].startswith("uv run --locked ruff ") and hook["language"] == "system"
        run([*hook["entry"].split(), *files], cwd=project)


@pytest.mark.parametrize(
    ("answers", "upkeep"),
    [
        ({}, {"uv", "github-actions", "pre-commit", "docker", "docker-compose"}),
        ({"use_docker": "no"}, {"uv", "github-actions", "pre-commit"}),
    ],
)
def test_dependabot_keeps_every_ecosystem_current(
    tmp_path: Path, answers: dict[str, str], upkeep: set[str]
) -> None:
    project = render(tmp_path, answers)
    path = project / ".github" / "dependabot.yml"
    validate(path, "dependabot")
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    updates = config["updates"]
    assert {update["package-ecosystem"] for update in updates} == upkeep
    for update in updates:
        assert update["schedule"]["interval"] == "weekly"
        assert update["cooldown"]["default-days"] >= 3
    ignored = {
        (update["package-ecosystem"], rule["dependency-name"])
        for update in updates
        for rule in update.get("ignore", [])
    }
    if "docker" in upkeep:
        # A new Python and a data store's new major release are left to people.
        assert ("docker", "python") in ignored and ("docker-compose", "postgres") in ignored
        assert ("docker-compose", "nginx") not in ignored
    assert not (project / "renovate.json").exists()


@pytest.mark.parametrize("docker", ["yes", "no"])
def test_renovate_for_gitlab(tmp_path: Path, docker: str) -> None:
    project = render(tmp_path, {"ci": "gitlab", "use_docker": docker})
    path = project / "renovate.json"
    validate(path, "renovate")
    config: dict[str, Any] = json.loads(path.read_text())
    assert "schedule:weekly" in config["extends"]
    assert config["minimumReleaseAge"] == "7 days"
    assert config["lockFileMaintenance"]["enabled"] and config["pre-commit"]["enabled"]
    held_back = {
        name: rule["matchUpdateTypes"]
        for rule in config["packageRules"]
        if rule.get("enabled") is False
        for name in rule["matchDepNames"]
    }
    # A new Python and a data store's new major release are left to people.
    assert held_back["python"] == ["major", "minor"] and held_back["postgres"] == ["major"]
    assert ("compose.yaml" in config["description"]) == (docker == "yes")
    assert not (project / ".github").exists()


def test_no_upkeep_bot_without_ci(tmp_path: Path) -> None:
    project = render(tmp_path, {"ci": "none"})
    assert not (project / ".github").exists() and not (project / "renovate.json").exists()
    assert "make lock UPGRADE=1" in (project / "docs" / "dependencies.md").read_text()


def test_the_schema_check_refuses_a_broken_file(tmp_path: Path) -> None:
    """The validation above is live: a misspelt cooldown key fails it."""
    broken = tmp_path / "dependabot.yml"
    broken.write_text(
        "version: 2\nupdates:\n  - package-ecosystem: uv\n    directory: /\n"
        "    schedule: {interval: weekly}\n    cooldown: {default-dayz: 7}\n"
    )
    with pytest.raises(AssertionError, match="default-dayz"):
        validate(broken, "dependabot")


@pytest.mark.parametrize(
    ("license_name", "spdx", "phrase"),
    [
        ("MIT", "MIT", "Permission is hereby granted, free of charge"),
        ("Apache-2.0", "Apache-2.0", "Apache License"),
        ("BSD-3-Clause", "BSD-3-Clause", "Neither the name of the copyright holder"),
        ("proprietary", "LicenseRef-Proprietary", "All rights reserved."),
    ],
)
def test_license(tmp_path: Path, license_name: str, spdx: str, phrase: str) -> None:
    project = render(tmp_path, {"license": license_name, "author_name": "Ada Lovelace"})
    text = (project / "LICENSE").read_text()
    assert phrase in text and "Ada Lovelace" in text
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["license"] == spdx
    assert metadata["license-files"] == ["LICENSE"]
