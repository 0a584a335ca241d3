"""copier, the second way in: copier.yml is written from cookiecutter.json (one list of
questions), `copier copy` renders what cookiecutter renders for the same answers (the answers
file aside), and a bad answer is refused by the rule cookiecutter's hook applies."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.copier import ANSWERS_FILE, COPIER_YML, copier_yml
from support.rendering import ROOT, load_hook, render

pytestmark = pytest.mark.slow
COPIER = str(Path(sys.executable).parent / "copier")
VARIANTS = {
    "default": {},
    "everything": {
        "database": "postgresql",
        "session_store": "redis",
        "background_jobs": "celery",
        "tracing": "opentelemetry",
        "metrics": "prometheus",
        "project_name": "Billing Ledger",
        "correlation_header": "X-Request-ID",
    },
    "no-containers-gitlab": {
        "database": "mysql",
        "use_docker": "no",
        "ci": "gitlab",
        "license": "proprietary",
        "description": "Ünïcode & <markup> 'quoted' \"text\"",
    },
    "no-ci": {"ci": "none", "license": "Apache-2.0", "package_name": "ledger"},
}


def copier_copy(destination: Path, answers: dict[str, str]) -> subprocess.CompletedProcess[str]:
    data = [
        argument for name, value in answers.items() for argument in ("--data", f"{name}={value}")
    ]
    return subprocess.run(
        [
            COPIER,
            "copy",
            "--trust",
            "--defaults",
            "--quiet",
            "--vcs-ref",
            "HEAD",
            *data,
            str(ROOT),
            str(destination),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def differences(left: Path, right: Path) -> list[str]:
    """Files that differ in content or mode, or exist on one side only."""
    found: list[str] = []

    def walk(comparison: filecmp.dircmp[str], prefix: str) -> None:
        found.extend(
            f"only in one: {prefix}{name}" for name in comparison.left_only + comparison.right_only
        )
        for name in comparison.common_files:
            a, b = Path(comparison.left, name), Path(comparison.right, name)
            if a.read_bytes() != b.read_bytes() or a.stat().st_mode != b.stat().st_mode:
                found.append(f"differs: {prefix}{name}")
        for name, sub in comparison.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right, ignore=[]), "")
    return found


def test_copier_yml_is_written_from_cookiecutter_json() -> None:
    assert COPIER_YML.read_text() == copier_yml(), "run: python -m support.copier"


def test_the_templates_lock_holds_no_jinja() -> None:
    """copier renders every file (cookiecutter copies the lock unrendered)."""
    lock = (ROOT / "{{cookiecutter.project_slug}}" / ".lock" / "uv.lock").read_text()
    assert not any(marker in lock for marker in ("{{", "{%", "{#"))


@pytest.mark.parametrize("answers", VARIANTS.values(), ids=VARIANTS.keys())
def test_copier_copy_renders_what_cookiecutter_renders(
    tmp_path: Path, answers: dict[str, str]
) -> None:
    from_cookiecutter = render(tmp_path / "cookiecutter", answers)
    result = copier_copy(tmp_path / "copier" / from_cookiecutter.name, answers)
    assert result.returncode == 0, result.stderr
    from_copier = tmp_path / "copier" / from_cookiecutter.name
    answers_file = from_copier / ANSWERS_FILE
    assert answers_file.is_file()
    recorded = yaml.safe_load(answers_file.read_text())
    assert {name: recorded[name] for name in answers} == answers
    answers_file.unlink()
    assert differences(from_cookiecutter, from_copier) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("project_slug", "Bad Slug"),
        ("package_name", "json"),
        ("author_email", "nobody"),
        ("project_name", "a {{ b }}"),
    ],
)
def test_a_bad_answer_is_refused_by_the_hooks_rule(tmp_path: Path, field: str, value: str) -> None:
    rule = load_hook("pre_gen_project").CHECKS[field]
    message = rule(value)
    assert message
    destination = tmp_path / "service"
    result = copier_copy(destination, {field: value})
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == f"ValueError: Validation error for question '{field}': {message}"
    assert not destination.exists()
