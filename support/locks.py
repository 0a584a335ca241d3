"""Rewrite the lock of every dependency variant of the template (`scripts/lock`).

Each combination of the answers that change the dependencies (the post-generation hook's
LOCK_FIELDS) is rendered with the default name and version, its lock is brought up to date
with its pyproject.toml by `uv lock`, and the result is copied back into the template's
.locks/ folder, from which the hook renders it. The render already holds the current lock,
so plain `uv lock` keeps every pinned version it can; `--upgrade` or `--upgrade-package NAME`
(passed on to uv) raises them. Afterwards it prints what changed, and the packages that not
every lock pins at the same version.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import product
from pathlib import Path

from .rendering import (
    ANSWERS,
    ROOT,
    keep_cookiecutter_home_in,
    load_hook,
    render,
    run,
    uv,
    uv_settings,
)

post_gen = load_hook("post_gen_project")
LOCKS = ROOT / "{{cookiecutter.project_slug}}" / post_gen.LOCKS_FOLDER


def dependency_variants() -> list[dict[str, str]]:
    choices = [ANSWERS[field] for field in post_gen.LOCK_FIELDS]
    return [
        dict(zip(post_gen.LOCK_FIELDS, combination, strict=True))
        for combination in product(*choices)  # type: ignore[arg-type]
    ]


def pinned(lock: Path) -> dict[str, set[str]]:
    versions: dict[str, set[str]] = defaultdict(set)
    if lock.exists():
        for package in tomllib.loads(lock.read_text())["package"]:
            if not package["source"].get("editable"):
                versions[package["name"]].add(package["version"])
    return versions


@contextmanager
def silenced_stdout() -> Iterator[None]:
    """Cookiecutter's hooks write to the process's own standard output, not sys.stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def relock(answers: dict[str, str], uv_arguments: list[str], build: Path) -> Path:
    target = LOCKS / post_gen.lock_name(answers)
    if not target.exists():
        # A new combination: any other lock is a starting point, whose versions uv keeps
        # where they fit.
        shutil.copy(next(LOCKS.glob("*.lock")), target)
    with silenced_stdout():  # the hook's "Next:" steps, twelve times
        project = render(build / target.stem, answers)
    run([uv(), "lock", "--quiet", *uv_arguments], cwd=project, env=uv_settings())
    shutil.copy(project / "uv.lock", target)
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="every package to its newest")
    parser.add_argument("--upgrade-package", action="append", default=[], metavar="NAME")
    options = parser.parse_args(argv)
    uv_arguments = ["--upgrade"] if options.upgrade else []
    for name in options.upgrade_package:
        uv_arguments += ["--upgrade-package", name]

    keep_cookiecutter_home_in(ROOT / "build")
    before = {path.name: pinned(path) for path in LOCKS.glob("*.lock")}
    # Package -> the version sets the locks pin it at (a set: markers may split a package).
    across: dict[str, set[frozenset[str]]] = defaultdict(set)
    changes: set[str] = set()
    with tempfile.TemporaryDirectory() as build:
        for answers in dependency_variants():
            lock = relock(answers, uv_arguments, Path(build))
            after = pinned(lock)
            old = before.get(lock.name, {})
            for name in sorted(set(after) | set(old)):
                if after.get(name) != old.get(name):
                    was = ", ".join(sorted(old.get(name, set()))) or "-"
                    now = ", ".join(sorted(after.get(name, set()))) or "-"
                    changes.add(f"{name}: {was} -> {now}")
                if name in after:
                    across[name].add(frozenset(after[name]))
            print(f"locked {lock.name}")
    for change in sorted(changes):
        print(f"  {change}")
    differing = {name: versions for name, versions in across.items() if len(versions) > 1}
    for name, versions in sorted(differing.items()):
        # Legitimate when the variants' constraints differ (kombu caps packaging, say); a
        # release published while this ran is the other cause: run it again.
        pins = " / ".join(sorted(", ".join(sorted(v)) for v in versions))
        print(f"  not the same in every lock: {name} {pins}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
