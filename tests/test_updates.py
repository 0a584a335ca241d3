"""Living with the template: a service generated from one commit of the template receives a
later template change through `cruft update`, and keeps its own changes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.rendering import ROOT, run

pytestmark = pytest.mark.slow
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


def test_cruft_update_brings_template_changes_and_keeps_local_ones(tmp_path: Path) -> None:
    template = template_repository(tmp_path / "template")
    cruft(tmp_path, "create", str(template), "--no-input", "--output-dir", str(tmp_path / "out"))
    project = tmp_path / "out" / "example-service"
    assert (project / ".cruft.json").is_file()
    git(project, "init", "--quiet", "--initial-branch", "main")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", "generated")
    assert cruft(project, "check").returncode == 0

    # The service's own change...
    items = project / "example_service" / "items.py"
    items.write_text(items.read_text() + "\n\ndef local_helper() -> int:\n    return 42\n")
    git(project, "commit", "--quiet", "--all", "--message", "a change of our own")
    # ...and a later change to the template.
    package = template / "{{cookiecutter.project_slug}}" / "{{cookiecutter.package_name}}"
    health = package / "core" / "health.py"
    health.write_text(
        health.read_text().replace(
            'bp = Blueprint("health", __name__)',
            'bp = Blueprint("health", __name__)\nPROBE_VERSION = 2',
        )
    )
    git(template, "commit", "--quiet", "--all", "--message", "template v2")

    assert cruft(project, "check", check=False).returncode != 0  # out of date
    cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files")
    assert "PROBE_VERSION = 2" in (project / "example_service" / "core" / "health.py").read_text()
    assert "def local_helper" in items.read_text()
    assert cruft(project, "check").returncode == 0
    assert "local_helper" in cruft(project, "diff").stdout
