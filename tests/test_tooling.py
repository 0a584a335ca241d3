"""The generated project's tooling: CI workflows, pre-commit, editor config and license."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.rendering import load_hook, render

post_gen = load_hook("post_gen_project")

# The commands every CI flavour must run, each provided by the project's dev extra.
CHECKS = {
    "ruff check .": "ruff",
    "ruff format --check .": "ruff",
    "mypy": "mypy",
    "pytest": "pytest",
}


def dev_tools(project: Path) -> set[str]:
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    return {line.split(">")[0].split("=")[0] for line in metadata["optional-dependencies"]["dev"]}


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
    assert 'pip install -e ".[dev]"' in run
    assert job["env"]["CI"] == "true"


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
