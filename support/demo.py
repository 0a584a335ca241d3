"""Render the demo service (`scripts/demo`) again without losing what someone changed in it.

The files of each render are recorded with their hashes. Before rendering again, the demo is
compared with that record: a rendered file changed since stops the render with the list, and
the demo is left as it is. Files the render does not write (a cookie jar, notes, the
virtual environment, .env, instance/) are never touched, so they do not count.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from cookiecutter.main import cookiecutter

from .rendering import ROOT, keep_cookiecutter_home_in

PROJECT = "example-service"
RECORD = ".rendered-files.json"
# What `make run` and the service write into the demo folder: never the user's edits.
OWN_STATE = {
    ".venv",
    ".env",
    "instance",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
}


def files_of(project: Path) -> dict[str, str]:
    found = {}
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        ours = set(relative.parts) & OWN_STATE or relative.parts[0].endswith(".egg-info")
        if path.is_file() and not ours and path.name != RECORD:
            found[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def changed_since_render(project: Path) -> list[str]:
    """Rendered files changed since the last render (all of them, when there is no record)."""
    record = project / RECORD
    if not project.exists():
        return []
    now = files_of(project)
    if not record.exists():
        return sorted(now)
    rendered: dict[str, str] = json.loads(record.read_text())
    return sorted(name for name, digest in rendered.items() if now.get(name, digest) != digest)


def main(output: Path) -> int:
    project = output / PROJECT
    changed = changed_since_render(project)
    if changed:
        print(
            f"{project} has changes of yours; it was not rendered again:\n  "
            + "\n  ".join(changed)
            + f"\nMove them away (or delete {project}), or render elsewhere with "
            "DEMO_DIR=/some/other/folder scripts/demo.",
            file=sys.stderr,
        )
        return 1
    keep_cookiecutter_home_in(ROOT / "build")
    # Over the previous render: the virtual environment, .env and instance/ are kept.
    cookiecutter(str(ROOT), no_input=True, overwrite_if_exists=True, output_dir=str(output))
    (project / RECORD).write_text(json.dumps(files_of(project), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
