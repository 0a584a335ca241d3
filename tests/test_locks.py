"""The template keeps one lock; every variant renders with that lock cut down to its own
dependency tree: consistent with its pyproject.toml, naming the project, in uv's own order."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException
from packaging.requirements import Requirement

from support import locks
from support.rendering import ROOT, load_hook, render, run, uv

from .test_tooling import validate
from .variants import VARIANTS

post_gen = load_hook("post_gen_project")

SUPERSET = """version = 1
requires-python = ">=3.11"

[[package]]
name = "alembic"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "mako" },
]

[[package]]
name = "example-service"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "alembic" },
    { name = "psycopg", extra = ["binary"] },
    { name = "pymysql" },
]

[package.dev-dependencies]
dev = [
    { name = "pytest" },
]

[package.metadata]
requires-dist = [
    { name = "alembic" },
    { name = "psycopg", extras = ["binary"], specifier = ">=3.2" },
    { name = "pymysql", specifier = ">=1.1" },
]

[package.metadata.requires-dev]
dev = [{ name = "pytest" }]

[[package]]
name = "mako"
version = "1.3"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "psycopg"
version = "3.2"
source = { registry = "https://pypi.org/simple" }

[package.optional-dependencies]
binary = [
    { name = "psycopg-binary", marker = "implementation_name != 'pypy'" },
]

[[package]]
name = "psycopg-binary"
version = "3.2"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pymysql"
version = "1.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "9.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [
    { name = "zope", version = "3.0", marker = "python_full_version >= '3.12'" },
]

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


def pyproject(*dependencies: str) -> dict[str, object]:
    return {
        "project": {"dependencies": list(dependencies)},
        "dependency-groups": {"dev": ["pytest>=8"]},
    }


def test_the_cut_keeps_what_the_variant_reaches_and_names_the_project() -> None:
    lock = post_gen.variant_lock(
        SUPERSET, pyproject("alembic", "psycopg[binary]>=3.2"), "billing-api", "2.0rc1"
    )
    # pymysql is not declared; mako through alembic, psycopg-binary through the extra, and
    # only the zope that pytest names are reached.
    assert names(lock) == [
        "alembic",
        "billing-api",
        "mako",
        "psycopg",
        "psycopg-binary",
        "pytest",
        "zope",
    ]
    (own,) = [p for p in tomllib.loads(lock)["package"] if p["name"] == "billing-api"]
    assert own["version"] == "2.0rc1" and own["source"] == {"editable": "."}
    assert [d["name"] for d in own["dependencies"]] == ["alembic", "psycopg"]
    assert [d["name"] for d in own["metadata"]["requires-dist"]] == ["alembic", "psycopg"]
    assert 'version = "3.0"' in lock and 'version = "2.0"' not in lock
    # Every kept line is the superset's own line.
    renamed = SUPERSET.replace('"example-service"', '"billing-api"').replace('"0.1.0"', '"2.0rc1"')
    assert set(lock.splitlines()) <= set(renamed.splitlines())
    last = post_gen.variant_lock(SUPERSET, pyproject("pymysql"), "zz-top", "1.0")
    assert names(last) == ["pymysql", "pytest", "zope", "zz-top"]
    assert last.endswith('dev = [{ name = "pytest" }]\n')


def test_a_lock_that_does_not_name_the_default_project_is_refused() -> None:
    with pytest.raises(ValueError, match="example-service"):
        post_gen.variant_lock(SUPERSET.replace("example-service", "other"), pyproject(), "x", "1")


def test_the_template_holds_one_lock_over_the_union_of_the_variants(tmp_path: Path) -> None:
    """What scripts/lock would write: the superset project declares exactly the union of
    every dependency-changing combination's requirements, and its lock is current with it."""
    assert sorted(p.name for p in locks.LOCK_FOLDER.iterdir()) == ["pyproject.toml", "uv.lock"]
    assert locks.SUPERSET.read_text() == locks.superset(locks.rendered_pyprojects())
    run([uv(), "lock", "--check", "--offline"], cwd=locks.LOCK_FOLDER, env=empty_cache(tmp_path))


def empty_cache(tmp_path: Path) -> dict[str, str]:
    # --offline with an empty cache: the lock alone must satisfy uv, as on a fresh machine.
    return {"UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_PYTHON_DOWNLOADS": "never"}


@pytest.mark.parametrize(
    "answers", locks.dependency_variants(), ids=lambda answers: "-".join(answers.values())
)
def test_every_dependency_combination_renders_a_current_lock(
    tmp_path: Path, answers: dict[str, str]
) -> None:
    """`uv lock --check --offline`: uv would write nothing new, with nothing but the lock (a
    pyproject.toml dependency changed without scripts/lock, or a cut that drops a needed
    package, fails here). The rendered pyproject.toml and the hook's cut are all uv reads;
    every render of tests/variants.py runs the hook itself."""
    pyproject = locks.render_pyproject(answers)
    cut = post_gen.variant_lock(
        locks.LOCK.read_text(), tomllib.loads(pyproject), "example-service", "0.1.0"
    )
    (tmp_path / "pyproject.toml").write_text(pyproject)
    (tmp_path / "uv.lock").write_text(cut)
    run([uv(), "lock", "--check", "--offline"], cwd=tmp_path, env=empty_cache(tmp_path))
    assert names(cut) == sorted(names(cut))  # uv's order: `uv lock` rewrites nothing


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_rendered_lock_names_the_project_and_hashes_every_file(
    tmp_path: Path, variant: str
) -> None:
    project = render(tmp_path, VARIANTS[variant])
    assert not (project / post_gen.LOCK_FOLDER).exists()
    run([uv(), "lock", "--check", "--offline"], cwd=project, env=empty_cache(tmp_path))
    lock = (project / "uv.lock").read_text()
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


@pytest.mark.parametrize("slug", ["python-dotenv", "argon2-cffi", "opentelemetry-sdk", "tzdata"])
def test_a_slug_naming_a_locked_package_is_refused(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], slug: str
) -> None:
    """A project named like a package of the lock would be a second package of that name in
    its own uv.lock, which uv refuses to read: the render stops, naming the answer, and
    leaves nothing behind. The names come from the lock itself (any variant's)."""
    with pytest.raises(FailedHookException):
        render(tmp_path, {"project_slug": slug})
    assert (
        f"ERROR: project_slug: must not name an existing package: '{slug}'"
        in capfd.readouterr().err
    )
    assert list(tmp_path.iterdir()) == []


def test_the_template_repository_keeps_its_lock_current() -> None:
    """Dependabot proposes updates of the one lock and of the template's own tooling."""
    path = ROOT / ".github" / "dependabot.yml"
    validate(path, "dependabot")
    updates = {
        u["package-ecosystem"]: u["directory"] for u in yaml.safe_load(path.read_text())["updates"]
    }
    assert updates == {"uv": f"/{locks.LOCK_FOLDER.relative_to(ROOT)}", "pip": "/"}
    assert (ROOT / "requirements-dev.txt").exists()
