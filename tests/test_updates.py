"""Living with the template: a service generated from one commit of the template receives a
later template change through cruft or copier (`make update`, which re-makes uv.lock from
the merged pyproject.toml), keeps its own changes, can change an answer later, and can move
from cruft to copier."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from support.rendering import ROOT, run, uv, uv_settings

pytestmark = pytest.mark.slow
TOOLS = Path(sys.executable).parent
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}


def git(folder: Path, *args: str) -> str:
    return run(["git", *args], cwd=folder, env=GIT_IDENTITY).stdout


def cruft(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "cruft"), *args]
    if check:
        return run(command, cwd=folder, env=GIT_IDENTITY)
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)


def template_repository(destination: Path) -> Path:
    """The template as it stands (tracked and new files), as the first commit of a repo."""
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    git(destination, "init", "--quiet", "--initial-branch", "main")
    git(destination, "add", "--all")
    git(destination, "commit", "--quiet", "--message", "template v1")
    return destination


def generated_with_cruft(tmp_path: Path, template: Path) -> Path:
    """A service made by `cruft create` from `template`, as the first commit of its repo."""
    cruft(tmp_path, "create", str(template), "--no-input", "--output-dir", str(tmp_path / "out"))
    project = tmp_path / "out" / "example-service"
    git(project, "init", "--quiet", "--initial-branch", "main")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", "generated")
    return project


def add_a_change_of_our_own(project: Path) -> Path:
    """A helper added to items.py and committed; returns the file."""
    items = project / "example_service" / "items.py"
    items.write_text(items.read_text() + "\n\ndef local_helper() -> int:\n    return 42\n")
    git(project, "commit", "--quiet", "--all", "--message", "a change of our own")
    return items


def test_cruft_update_brings_template_changes_and_keeps_local_ones(tmp_path: Path) -> None:
    template = template_repository(tmp_path / "template")
    project = generated_with_cruft(tmp_path, template)
    assert (project / ".cruft.json").is_file()
    assert cruft(project, "check").returncode == 0

    # The service's own change...
    items = add_a_change_of_our_own(project)
    # ...and a later change to the template.
    health = change_the_health_module(template)

    assert cruft(project, "check", check=False).returncode != 0  # out of date
    cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files")
    assert "PROBE_VERSION = 2" in (project / health).read_text()
    assert "def local_helper" in items.read_text()
    assert cruft(project, "check").returncode == 0
    assert "local_helper" in cruft(project, "diff").stdout


def generated_with_copier(tmp_path: Path, template: Path) -> Path:
    """A service made by `copier copy` from `template`, as the first commit of its repo."""
    project = tmp_path / "out" / "example-service"
    copier = [str(TOOLS / "copier"), "copy", "--trust", "--defaults", "--quiet"]
    run([*copier, "--vcs-ref", "HEAD", str(template), str(project)], cwd=tmp_path)
    git(project, "init", "--quiet", "--initial-branch", "main")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", "generated")
    return project


def make(project: Path, target: str, *arguments: str) -> None:
    """A target of the generated Makefile, with this environment's tools."""
    tools = [f"CRUFT={TOOLS / 'cruft'}", f"COPIER={TOOLS / 'copier'}", f"UV={uv()}"]
    run(["make", target, *tools, *arguments], cwd=project, env={**GIT_IDENTITY, **uv_settings()})


def make_update(project: Path, answers: str = "") -> None:
    """`make update` to the template's newest commit (copier's default is its newest tag)."""
    make(project, "update", "REF=HEAD", *([f"ANSWERS={answers}"] if answers else []))


def change_the_health_module(template: Path) -> Path:
    """A later template change to core/health.py, committed; returns the service's copy."""
    package = template / "{{cookiecutter.project_slug}}" / "{{cookiecutter.package_name}}"
    health = package / "core" / "health.py"
    health.write_text(
        health.read_text().replace(
            'bp = Blueprint("health", __name__)',
            'bp = Blueprint("health", __name__)\nPROBE_VERSION = 2',
        )
    )
    git(template, "commit", "--quiet", "--all", "--message", "template: the probe's version")
    return Path("example_service") / "core" / "health.py"


def passes_its_own_suite(project: Path, *paths: str) -> None:
    """uv.lock agrees with pyproject.toml, and the suite (or `paths` of it) passes."""
    run([uv(), "lock", "--check"], cwd=project, env=uv_settings())
    run(
        [
            str(project / ".venv" / "bin" / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *paths,
        ],
        cwd=project,
    )


def locked_names(project: Path) -> set[str]:
    lock = tomllib.loads((project / "uv.lock").read_text())
    return {package["name"] for package in lock["package"]}


@pytest.mark.parametrize("tool", ["cruft", "copier"])
def test_both_sides_changed_the_dependencies_and_the_lock_is_made_anew(
    tmp_path: Path, tool: str
) -> None:
    """The team adds a dependency (pyproject.toml and uv.lock change); the template raises a
    floor, re-locks and changes a module. The update merges pyproject.toml, never uv.lock,
    and re-locks; the module's change arrives."""
    template = template_repository(tmp_path / "template")
    made_with = generated_with_cruft if tool == "cruft" else generated_with_copier
    project = made_with(tmp_path, template)
    run([uv(), "add", "--quiet", "--no-sync", "redis>=5"], cwd=project, env=uv_settings())
    git(project, "commit", "--quiet", "--all", "--message", "we need redis")

    generated = template / "{{cookiecutter.project_slug}}" / "pyproject.toml"
    generated.write_text(generated.read_text().replace('"alembic>=1.16"', '"alembic>=1.18"'))
    run([str(ROOT / ".venv" / "bin" / "python"), "-m", "support.locks"], cwd=template)
    git(template, "commit", "--quiet", "--all", "--message", "template: alembic 1.18 at least")
    health = change_the_health_module(template)

    make_update(project)
    assert "PROBE_VERSION = 2" in (project / health).read_text()
    assert not (project / ".lock").exists()
    dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert "alembic>=1.18" in dependencies["dependencies"]
    assert any(entry.startswith("redis>=5") for entry in dependencies["dependencies"])
    assert {"redis", "alembic"} <= locked_names(project)
    leftovers = [path.name for path in project.rglob("*") if path.suffix in {".rej", ".orig"}]
    assert leftovers == []
    assert "<<<<<<<" not in (project / "uv.lock").read_text()
    passes_its_own_suite(project, "tests/test_dependencies.py", "tests/test_health.py")


@pytest.mark.parametrize("tool", ["cruft", "copier"])
def test_an_answer_changed_later_adds_the_option_and_keeps_the_teams_change(
    tmp_path: Path, tool: str
) -> None:
    template = template_repository(tmp_path / "template")
    made_with = generated_with_cruft if tool == "cruft" else generated_with_copier
    project = made_with(tmp_path, template)
    assert not (project / "example_service" / "core" / "tracing.py").exists()
    items = add_a_change_of_our_own(project)

    make_update(project, '{"tracing": "opentelemetry"}')
    assert (project / "example_service" / "core" / "tracing.py").is_file()
    assert "def local_helper" in items.read_text()
    if tool == "cruft":
        answers = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    else:
        answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["tracing"] == "opentelemetry"
    assert "opentelemetry-sdk" in locked_names(project)
    # What the new answer brought, and the module map that must name it (the whole suite of
    # the tracing variant runs in test_generated).
    passes_its_own_suite(project, "tests/test_tracing.py", "tests/test_architecture.py")


def test_a_cruft_service_moves_to_copier_and_updates(tmp_path: Path) -> None:
    template = template_repository(tmp_path / "template")
    project = generated_with_cruft(tmp_path, template)
    items = add_a_change_of_our_own(project)
    make(project, "move-to-copier")
    git(project, "commit", "--quiet", "--message", "moved to copier")
    assert not (project / ".cruft.json").exists()

    health = change_the_health_module(template)
    make_update(project)
    assert "PROBE_VERSION = 2" in (project / health).read_text()
    assert "def local_helper" in items.read_text()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    newest = git(template, "rev-parse", "--short", "HEAD").strip()
    assert str(answers["_commit"]).endswith(newest)
    assert (answers["database"], answers["project_slug"]) == ("sqlite", "example-service")
    assert not (project / ".cruft.json").exists()
