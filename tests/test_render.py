"""Every supported variant renders cleanly: no leftover markers, only the files it needs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from itertools import product
from pathlib import Path

import pytest

from support.leftovers import leftovers
from support.rendering import ANSWERS, LEFTOVER_MARKER, ROOT, render, run

from .variants import CODE_VARIANTS, SUITE_VARIANTS, VARIANTS, code_variant_of

JINJA = re.compile(r"\{\{|\{%|\{#")
# Dependencies (and words in .env.example) that belong to one choice only.
ONLY_FOR = {
    ("database", "postgresql"): ("psycopg", "postgresql"),
    ("database", "mysql"): ("pymysql", "mysql"),
    ("session_store", "filesystem"): ("cachelib", "SESSION_DIR"),
    ("session_store", "redis"): ("redis", "REDIS_URL"),
    ("background_jobs", "celery"): ("celery", "CELERY_BROKER_URL"),
    ("tracing", "opentelemetry"): ("opentelemetry-sdk", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    ("metrics", "prometheus"): ("prometheus-client", "METRICS_BIND"),
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp(request.param), VARIANTS[request.param])


def test_every_combination_that_changes_code_is_a_variant() -> None:
    """Each of these answers changes the generated code: every combination is tested."""
    fields = ("database", "session_store", "background_jobs")
    combinations = {
        tuple(v.get(field, ANSWERS[field][0]) for field in fields)  # type: ignore[index]
        for v in CODE_VARIANTS.values()
    }
    choices = [ANSWERS[field] for field in fields]
    assert combinations == set(product(*choices))  # type: ignore[arg-type]


def test_variant_keys_exist_in_cookiecutter_json() -> None:
    for variant in VARIANTS.values():
        assert set(variant) <= set(ANSWERS)


@pytest.mark.parametrize("variant", sorted(set(VARIANTS) - set(SUITE_VARIANTS)))
def test_file_variants_share_a_code_variants_python(tmp_path: Path, variant: str) -> None:
    """Their suites are not run (test_generated): their Python must be a code variant's."""
    answers = VARIANTS[variant]
    project = render(tmp_path / "file", answers)
    twin = render(tmp_path / "code", CODE_VARIANTS[code_variant_of(answers)])
    python = sorted(path.relative_to(project) for path in project.rglob("*.py"))
    assert python == sorted(path.relative_to(twin) for path in twin.rglob("*.py"))
    for path in python:
        assert (project / path).read_bytes() == (twin / path).read_bytes(), path


def test_unknown_answer_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="databse"):
        render(tmp_path, {"databse": "postgresql"})


def test_no_leftover_template_markers(project: Path) -> None:
    for path in project.rglob("*"):
        if path.is_file():
            found = LEFTOVER_MARKER.search(path.read_text())
            assert found is None, f"{found.group()!r} left in {path.relative_to(project)}"


def test_no_leftovers_of_branches_left_out(project: Path) -> None:
    """No empty function, comment about code that is not there, or name nothing uses."""
    assert leftovers(project) == []


def test_python_without_jinja_is_linted_where_it_is_edited(tmp_path: Path) -> None:
    """The template's Python that no answer changes (most of it: a choice is a module of its
    own) is checked by the generated project's ruff settings in the template itself."""
    template = ROOT / "{{cookiecutter.project_slug}}"
    plain = [
        path
        for path in sorted(template.rglob("*"))
        # A module that one choice renders is named {% if ... %}name.py{% endif %}.
        if re.search(r"\.py($|\{%)", path.name)
        and "tests" not in path.relative_to(template).parts
        and not JINJA.search(path.read_text())
    ]
    package = template / "{{cookiecutter.package_name}}"
    for name in ("db.py", "migrate.py", "sessions.py", "idempotency.py"):
        assert package / "core" / name in plain, name
    assert set((package / "migrations" / "versions").glob("*.py")) <= set(plain)
    assert len([path for path in plain if path.name.endswith("engine.py{% endif %}")]) == 3
    config = ["--config", str(render(tmp_path, {}) / "pyproject.toml")]
    ruff = str(Path(sys.executable).parent / "ruff")
    # N999: the folder is named {{cookiecutter.package_name}} until it is rendered.
    run([ruff, "check", "--no-cache", *config, "--ignore", "N999", *map(str, plain)], cwd=template)
    run([ruff, "format", "--check", "--no-cache", *config, *map(str, plain)], cwd=template)


def test_no_signature_exploded_by_a_leftover_comma(project: Path) -> None:
    """A branch that renders no parameters must not leave one parameter on lines of its own
    behind a trailing comma (ruff format would keep it exploded)."""
    exploded = re.compile(r"def \w+\(\n[ ]+[^\n,()]+,\n[ ]*\)")
    for path in project.rglob("*.py"):
        found = exploded.search(path.read_text())
        assert found is None, f"{path.relative_to(project)}: {found.group()!r}"


def test_no_empty_or_stray_files(project: Path) -> None:
    for path in project.rglob("*"):
        if path.is_file() and path.name not in {"__init__.py", "py.typed"}:
            assert path.read_text().strip(), f"{path.relative_to(project)} is empty"


def test_pyproject_is_valid_and_names_the_package(project: Path) -> None:
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["name"] == project.name
    package = project.name.replace("-", "_")
    assert (project / package / "__init__.py").is_file()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_only_the_dependencies_a_variant_needs(tmp_path: Path, variant: str) -> None:
    answers = VARIANTS[variant]
    project = render(tmp_path, answers)
    requirements = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    deps = {re.split(r"[\[<>=~! ]", line)[0] for line in requirements["dependencies"]}
    env_example = (project / ".env.example").read_text()
    for (field, choice), (dependency, setting) in ONLY_FOR.items():
        chosen = answers.get(field, ANSWERS[field][0]) == choice  # type: ignore[index]
        assert (dependency in deps) == chosen, (variant, dependency)
        assert (setting in env_example) == chosen, (variant, setting)


def test_free_text_answers_survive_quoting(tmp_path: Path) -> None:
    answers = VARIANTS["custom-names"]
    project = render(tmp_path, answers)
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["description"] == answers["description"]
    assert metadata["authors"][0]["name"] == answers["author_name"]
    assert (
        json.dumps(answers["correlation_header"])
        in (project / "billing_api" / "core" / "context.py").read_text()
    )


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    first = render(tmp_path / "a")
    second = render(tmp_path / "b")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_bandit_finds_nothing(project: Path) -> None:
    """A static security scan of the service's code (its tests use assert by design)."""
    package = project / project.name.replace("-", "_")
    bandit = Path(sys.executable).parent / "bandit"
    result = subprocess.run(
        [str(bandit), "--quiet", "--recursive", str(package)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
