"""Every variant renders with a lock of its own dependency tree: consistent with its
pyproject.toml, naming the project, in uv's own order; and every install path uses it."""

from __future__ import annotations

import tomllib
from itertools import product
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from support.rendering import ANSWERS, ROOT, load_hook, render, run, uv

from .variants import VARIANTS

post_gen = load_hook("post_gen_project")
pre_gen = load_hook("pre_gen_project")
LOCKS = ROOT / "{{cookiecutter.project_slug}}" / post_gen.LOCKS_FOLDER

SAMPLE = """version = 1
requires-python = ">=3.11"

[[package]]
name = "alembic"
version = "1.0"

[[package]]
name = "example-service"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "alembic" },
    { name = "zope" },
]

[package.metadata]
requires-dist = [{ name = "alembic" }, { name = "zope" }]

[[package]]
name = "zope"
version = "2.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "zope"
version = "3.0"
source = { registry = "https://pypi.org/simple" }
"""


def names(lock: str) -> list[str]:
    return [package["name"] for package in tomllib.loads(lock)["package"]]


def test_the_project_entry_is_renamed_and_moved_into_name_order() -> None:
    lock = post_gen.project_lock(SAMPLE, "billing-api", "2.0.0rc1")
    assert names(lock) == ["alembic", "billing-api", "zope", "zope"]
    (own,) = [p for p in tomllib.loads(lock)["package"] if p["name"] == "billing-api"]
    assert own["version"] == "2.0.0rc1" and own["source"] == {"editable": "."}
    assert own["dependencies"] == [{"name": "alembic"}, {"name": "zope"}]
    # Two entries of one name keep their order; nothing else changes.
    assert lock.index('version = "2.0"') < lock.index('version = "3.0"')
    renamed = SAMPLE.replace('"example-service"', '"billing-api"').replace('"0.1.0"', '"2.0.0rc1"')
    assert sorted(lock.splitlines()) == sorted(renamed.splitlines())
    last = post_gen.project_lock(SAMPLE, "zz-top", "1.0")
    assert names(last) == ["alembic", "zope", "zope", "zz-top"]
    assert tomllib.loads(last)["package"][-1]["metadata"]["requires-dist"][1] == {"name": "zope"}


def test_a_lock_that_does_not_name_the_default_project_is_refused() -> None:
    with pytest.raises(ValueError, match="example-service"):
        post_gen.project_lock(SAMPLE.replace("example-service", "other"), "x", "1")


def test_there_is_one_lock_per_combination_of_the_answers_that_change_dependencies() -> None:
    choices = [ANSWERS[field] for field in post_gen.LOCK_FIELDS]
    wanted = {
        post_gen.lock_name(dict(zip(post_gen.LOCK_FIELDS, combination, strict=True)))
        for combination in product(*choices)  # type: ignore[arg-type]
    }
    assert {path.name for path in LOCKS.glob("*")} == wanted


def test_no_locked_distribution_is_accepted_as_the_project_slug() -> None:
    """A project named like a package of its own lock would appear twice in that lock, and
    uv refuses such a lock."""
    locked = {
        package["name"]
        for path in LOCKS.glob("*.lock")
        for package in tomllib.loads(path.read_text())["package"]
        if not package["source"].get("editable")
    }
    missing = sorted(locked - pre_gen.DEPENDENCY_DISTRIBUTIONS)
    assert not missing, f"add to DEPENDENCY_DISTRIBUTIONS in hooks/pre_gen_project.py: {missing}"
    for name in ("python-dotenv", "argon2-cffi", "tzdata"):
        assert "dependency" in (pre_gen.check_project_slug(name) or ""), name


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_rendered_lock_is_current_with_pyproject(tmp_path: Path, variant: str) -> None:
    """`uv lock --check`: uv would write nothing new (a pyproject.toml dependency changed
    without scripts/lock, or a name or version left unsubstituted, fails here)."""
    project = render(tmp_path, VARIANTS[variant])
    run([uv(), "lock", "--check"], cwd=project)
    lock = (project / "uv.lock").read_text()
    assert names(lock) == sorted(names(lock))  # uv's order: `uv lock` rewrites nothing
    assert not (project / post_gen.LOCKS_FOLDER).exists()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    metadata = pyproject["project"]
    # What Dependabot and Renovate read besides the lock: PEP 508 requirements, Jinja-free.
    for line in [*metadata["dependencies"], *pyproject["dependency-groups"]["dev"]]:
        Requirement(line)
    (own,) = [p for p in tomllib.loads(lock)["package"] if p["source"].get("editable") == "."]
    assert (own["name"], own["version"]) == (metadata["name"], metadata["version"])
    # Every package has hashes: a frozen install checks each file it downloads.
    for package in tomllib.loads(lock)["package"]:
        for artifact in [package.get("sdist"), *package.get("wheels", [])]:
            if artifact:
                assert artifact["hash"].startswith("sha256:"), package["name"]
    assert "pytest" in {d["name"] for d in own["dev-dependencies"]["dev"]}  # tools locked too
