"""Remove the folders an answer does not want (a file can drop itself by rendering an empty
name; a folder cannot). Standard library only; tests import `unwanted_paths`."""

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


def main(project: Path, answers: dict[str, object]) -> int:
    for folder in unwanted_paths(answers):
        shutil.rmtree(project / folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path.cwd(), json.loads(r'{{ cookiecutter | tojson }}')))  # fmt: skip
