"""After a render: cut the template's lock down to this variant, remove the folders an answer
does not want (a file can drop itself by rendering an empty name; a folder cannot), and print
the next steps for this variant. Standard library only; tests import `variant_lock`,
`unwanted_paths` and `next_steps`. copier runs it too, on copy (copier.yml)."""

from __future__ import annotations

import json
import re
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

# Folder -> the answers under which it stays.
OPTIONAL_FOLDERS = {".github": ("ci", "github")}

# The template's one lock, over the union of every variant's dependencies (scripts/lock writes
# it for the default name and version), copied here unrendered.
LOCK_FOLDER = ".lock"
LOCKED_NAME = "example-service"
LOCKED_VERSION = "0.1.0"
PACKAGE_SEPARATOR = "\n[[package]]\n"
# The PEP 508 name and extras at the start of a requirement.
REQUIREMENT_RE = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
# One entry of a dependency list in uv.lock, as uv writes it: one line each.
ENTRY_RE = re.compile(r'^\s+\{ name = "([^"]+)"')


def normalize(name: str) -> str:
    """PEP 503: the form uv.lock spells every name in."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(requirements: list[str]) -> set[str]:
    found = set()
    for requirement in requirements:
        match = REQUIREMENT_RE.match(requirement)
        if match is None:
            raise ValueError(f"not a PEP 508 requirement: {requirement!r}")
        found.add(normalize(match.group(1)))
    return found


def _parse(block: str) -> dict[str, object]:
    package: dict[str, object] = tomllib.loads("[[package]]\n" + block)["package"][0]
    return package


def variant_lock(text: str, pyproject: dict[str, object], name: str, version: str) -> str:
    """The template's superset lock, made this project's lock.

    uv cannot cut a lock down without the network, so this does what it would keep: the
    project's entry loses the dependencies this variant does not declare, and only the
    packages reachable from what it does declare (its dependencies with their extras, and
    its dependency groups) stay. The project's entry is renamed and moved to where uv would
    have written it; every other line is kept byte for byte, so the versions and hashes are
    the ones the template's tests ran together."""
    project = pyproject["project"]
    groups = pyproject.get("dependency-groups", {})
    assert isinstance(project, dict) and isinstance(groups, dict)
    declared = requirement_names(project.get("dependencies", []))
    declared |= {n for group in groups.values() for n in requirement_names(group)}

    head, *blocks = text.split(PACKAGE_SEPARATOR)
    # One parse of the whole lock: its [[package]] entries are the blocks, in their order.
    packages: list[dict[str, Any]] = tomllib.loads(text)["package"]
    if len(packages) != len(blocks):
        raise ValueError("the template's lock is not one [[package]] table per block")
    own = [
        i
        for i, package in enumerate(packages)
        if (package["name"], package["version"]) == (LOCKED_NAME, LOCKED_VERSION)
        and package.get("source") == {"editable": "."}
    ]
    if len(own) != 1:
        raise ValueError(f"the template's lock does not name {LOCKED_NAME} {LOCKED_VERSION} once")
    (index,) = own
    undeclared = {
        match.group(1)
        for line in blocks[index].splitlines()
        if (match := ENTRY_RE.match(line)) and match.group(1) not in declared
    }
    blocks[index] = "\n".join(
        line
        for line in blocks[index].splitlines()
        if not ((match := ENTRY_RE.match(line)) and match.group(1) in undeclared)
    ) + ("\n" if blocks[index].endswith("\n") else "")
    packages[index] = _parse(blocks[index])

    # The walk: a (name, version or None, extra or None) reaches the entries of that name
    # (of that version, where the lock holds several), their dependencies and the
    # dependencies of the extra. Markers are kept, not evaluated: the lock is for every
    # platform.
    kept = {index}
    own_entry = packages[index]
    by_name: dict[str, list[int]] = {}
    for i, package in enumerate(packages):
        by_name.setdefault(package["name"], []).append(i)
    pending = [*own_entry.get("dependencies", [])]
    for group in own_entry.get("dev-dependencies", {}).values():
        pending += group
    seen: set[tuple[str, str | None, str | None]] = set()
    while pending:
        entry = pending.pop()
        for extra in [None, *entry.get("extra", [])]:
            key = (entry["name"], entry.get("version"), extra)
            if key in seen:
                continue
            seen.add(key)
            for i in by_name.get(key[0], []):
                package = packages[i]
                if key[1] not in (None, package["version"]):
                    continue
                kept.add(i)
                if extra is None:
                    pending += package.get("dependencies", [])
                else:
                    pending += package.get("optional-dependencies", {}).get(extra, [])

    locked_entry = f'name = "{LOCKED_NAME}"\nversion = "{LOCKED_VERSION}"\n'
    entry = f'name = "{normalize(name)}"\nversion = "{version}"\n'
    blocks[index] = entry + blocks[index].removeprefix(locked_entry)
    # The last block ends the file; every block must end alike once they are reordered.
    blocks = [block if block.endswith("\n") else block + "\n" for block in blocks]
    kept_blocks = [blocks[i].rstrip("\n") + "\n" for i in sorted(kept)]
    # A stable sort: entries of one name (several versions, split by markers) keep their order.
    kept_blocks.sort(key=lambda block: block.split('"', 2)[1])
    return PACKAGE_SEPARATOR.join([head, *kept_blocks])


def place_lock(project: Path, answers: dict[str, object]) -> None:
    folder = project / LOCK_FOLDER
    text = (folder / "uv.lock").read_text()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    slug = normalize(str(answers["project_slug"]))
    # A package's own name is the only `name = ` that starts a line in uv.lock.
    locked = set(re.findall(r'^name = "([^"]+)"$', text, re.MULTILINE))
    if slug in locked - {LOCKED_NAME}:
        # uv refuses a lock that holds two packages of one name.
        raise SystemExit(
            f"ERROR: project_slug: must not name an existing package: '{slug}' is a "
            "dependency of the service; choose another name"
        )
    lock = variant_lock(text, pyproject, slug, str(answers["version"]))
    (project / "uv.lock").write_text(lock)
    shutil.rmtree(folder)


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
    shown = [
        what
        for what, field, wanted in (
            ("spans", "tracing", "opentelemetry"),
            ("metrics", "metrics", "prometheus"),
        )
        if answers.get(field) == wanted
    ]
    if shown:
        steps.append(f"make observe # instead of make run: with its {' and '.join(shown)} to see")
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
    # cookiecutter renders the answers into this file; copier (copier.yml's task) passes them.
    answers = sys.argv[1] if len(sys.argv) > 1 else r'{{ cookiecutter | tojson }}'  # fmt: skip
    sys.exit(main(Path.cwd(), json.loads(answers)))
