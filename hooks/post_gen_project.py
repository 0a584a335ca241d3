"""After a render: remove the folders an answer does not want (a file can drop itself by
rendering an empty name; a folder cannot), and print the next steps for this variant.
Standard library only; tests import `unwanted_paths` and `next_steps`."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

# Folder -> the answers under which it stays.
OPTIONAL_FOLDERS = {".github": ("ci", "github")}


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
    for folder in unwanted_paths(answers):
        shutil.rmtree(project / folder, ignore_errors=True)
    print(f"\nGenerated {project.name}. Next:")
    for number, step in enumerate(next_steps(project, answers), 1):
        print(f"  {number}. {step}")
    print("`make help` lists every target.")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path.cwd(), json.loads(r'{{ cookiecutter | tojson }}')))  # fmt: skip
