"""After a render: put the variant's lock file in place, remove the folders an answer does
not want (a file can drop itself by rendering an empty name; a folder cannot), and print the
next steps for this variant. Standard library only; tests import `unwanted_paths`,
`lock_name`, `project_lock` and `next_steps`."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

# Folder -> the answers under which it stays.
OPTIONAL_FOLDERS = {".github": ("ci", "github")}

# The answers that change pyproject.toml's dependencies: one lock per combination, written by
# scripts/lock for the default name and version and kept, unrendered, in .locks/.
LOCK_FIELDS = ("database", "session_store", "background_jobs", "tracing", "metrics")
LOCKS_FOLDER = ".locks"
LOCKED_NAME = "example-service"
LOCKED_VERSION = "0.1.0"
PACKAGE_SEPARATOR = "\n[[package]]\n"


def lock_name(answers: dict[str, object]) -> str:
    return "-".join(str(answers[field]) for field in LOCK_FIELDS) + ".lock"


def project_lock(text: str, name: str, version: str) -> str:
    """The template's lock, made this project's: uv.lock names the project itself (as the
    package whose source is ".") and lists packages in name order, so the project's entry is
    renamed and moved to where uv would have written it. Everything else is kept byte for
    byte: the versions and hashes are the ones the template's tests ran."""
    locked_entry = f'name = "{LOCKED_NAME}"\nversion = "{LOCKED_VERSION}"\n'
    head, *packages = text.split(PACKAGE_SEPARATOR)
    own = [i for i, block in enumerate(packages) if block.startswith(locked_entry)]
    if len(own) != 1 or 'source = { editable = "." }' not in packages[own[0]]:
        raise ValueError(f"the template's lock does not name {LOCKED_NAME} {LOCKED_VERSION} once")
    normalized = re.sub(r"[-_.]+", "-", name).lower()
    entry = f'name = "{normalized}"\nversion = "{version}"\n'
    packages[own[0]] = entry + packages[own[0]].removeprefix(locked_entry)
    # A stable sort: entries of one name (several versions, split by markers) keep their order.
    packages.sort(key=lambda block: block.split('"', 2)[1])
    return PACKAGE_SEPARATOR.join([head, *packages])


def place_lock(project: Path, answers: dict[str, object]) -> None:
    locks = project / LOCKS_FOLDER
    text = (locks / lock_name(answers)).read_text()
    lock = project_lock(text, str(answers["project_slug"]), str(answers["version"]))
    (project / "uv.lock").write_text(lock)
    shutil.rmtree(locks)


def unwanted_paths(answers: dict[str, object]) -> list[str]:
    return [
        folder
        for folder, (field, wanted) in OPTIONAL_FOLDERS.items()
        if answers.get(field) != wanted
    ]


def next_steps(project: Path, answers: dict[str, object]) -> list[str]:
    servers = {"postgresql": "PostgreSQL", "mysql": "MySQL or MariaDB"}
    needed = [servers[str(answers.get("database"))]] if answers.get("database") in servers else []
    if answers.get("session_store") == "redis" or answers.get("background_jobs") == "celery":
        needed.append("Redis")
    steps = [f"cd {project}"]
    if needed:
        steps.append(f"start {' and '.join(needed)} (README.md, 'Getting started', says how)")
    steps.append("make run     # the service on http://127.0.0.1:5000, reloading on change")
    if answers.get("background_jobs") == "celery":
        steps.append("make worker  # in another terminal: the Celery worker")
    steps.append("make test    # lint, type checks and the test suite")
    return steps


def main(project: Path, answers: dict[str, object]) -> int:
    place_lock(project, answers)
    for folder in unwanted_paths(answers):
        shutil.rmtree(project / folder, ignore_errors=True)
    print(f"\nGenerated {project.name}. Next:")
    for number, step in enumerate(next_steps(project, answers), 1):
        print(f"  {number}. {step}")
    print("`make help` lists every target.")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path.cwd(), json.loads(r'{{ cookiecutter | tojson }}')))  # fmt: skip
