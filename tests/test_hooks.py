"""The answer-checking hook: its rules one by one, and what a rejected render leaves behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from support.rendering import ANSWERS, load_hook, render

hook = load_hook("pre_gen_project")

GOOD = {
    "project_name": "Example Service",
    "project_slug": "example-service",
    "package_name": "example_service",
    "description": "A service.",
    "author_name": "Team",
    "author_email": "team@example.com",
    "version": "0.1.0",
    "database": "sqlite",
    "session_store": "filesystem",
    "background_jobs": "none",
    "use_docker": "yes",
    "ci": "github",
    "license": "MIT",
    "correlation_header": "X-Correlation-ID",
}


def test_good_answers_pass() -> None:
    assert hook.validate(GOOD) == []


def test_every_free_text_answer_is_checked() -> None:
    free_text = {name for name, value in ANSWERS.items() if isinstance(value, str)}
    assert set(hook.CHECKS) == free_text - {"__prompts__"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("database", "oracle"), ("session_store", "memcached"), ("background_jobs", "rq")],
)
def test_a_choice_outside_cookiecutter_json_is_refused(
    tmp_path: Path, field: str, value: str
) -> None:
    """cookiecutter.json is the one list of choices: cookiecutter refuses anything else,
    naming the field and the choices, before the hook or any file."""
    with pytest.raises(ValueError, match=f"{value} provided for choice variable {field}"):
        render(tmp_path, {field: value})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("slug", ["example-service", "a", "svc2", "billing-api-v2"])
def test_valid_slugs(slug: str) -> None:
    assert hook.check_project_slug(slug) is None


@pytest.mark.parametrize(
    ("slug", "reason"),
    [
        ("", "lower-case"),
        ("Example", "lower-case"),
        ("2fast", "starting with a letter"),
        ("double--hyphen", "single hyphens"),
        ("trailing-", "single hyphens"),
        ("under_score", "hyphens"),
        ("../escape", "lower-case"),
        ("a/b", "lower-case"),
        ("x" * 65, "64"),
        ("flask", "dependency"),
        ("flask-login", "dependency"),
        ("logging", "standard-library"),
        ("tests", "folder"),
        ("class", "keyword"),
    ],
)
def test_invalid_slugs(slug: str, reason: str) -> None:
    message = hook.check_project_slug(slug)
    assert message is not None and reason in message


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Example_Service", "lower-case"),
        ("example-service", "underscores"),
        ("_private", "starting with a letter"),
        ("a__b", "single underscores"),
        ("flask", "dependency"),
        ("sqlalchemy", "dependency"),
        ("logging", "standard-library"),
        ("json", "standard-library"),
        ("import", "keyword"),
        ("match", "keyword"),
        ("migrations", "folder"),
    ],
)
def test_invalid_package_names(name: str, reason: str) -> None:
    message = hook.check_package_name(name)
    assert message is not None and reason in message


@pytest.mark.parametrize("header", ["X-Correlation-ID", "X-Request-ID", "Request-Id", "x_trace.id"])
def test_valid_headers(header: str) -> None:
    assert hook.check_correlation_header(header) is None


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", "token"),
        ("X Correlation", "token"),
        ("X-Id:", "token"),
        ("X-Id\r\nSet-Cookie", "token"),
        ("Zoë-Id", "token"),
        ("X-" + "a" * 63, "64"),
        ("Set-Cookie", "meaning"),
        ("traceparent", "meaning"),
        ("Content-Length", "meaning"),
    ],
)
def test_invalid_headers(header: str, reason: str) -> None:
    message = hook.check_correlation_header(header)
    assert message is not None and reason in message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("project_name", ""),
        ("project_name", "   "),
        ("project_name", " padded"),
        ("project_name", "two\nlines"),
        ("project_name", "bell\x07"),
        ("project_name", "x" * 101),
        ("description", "tab\tinside"),
        ("description", "rtl\u202eoverride"),
        ("description", "a {{ template }}"),
        ("author_name", "{% if x %}"),
        ("project_name", "{# comment"),
        ("author_name", ""),
        ("author_email", "not-an-email"),
        ("author_email", "a@b"),
        ("author_email", "a b@example.com"),
        ("version", "1.0-beta"),
        ("version", "v1"),
        ("version", "01.0"),
    ],
)
def test_bad_answers_name_their_field(field: str, value: str) -> None:
    errors = hook.validate({**GOOD, field: value})
    assert len(errors) == 1
    assert errors[0].startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("project_name", 'Zoë\'s "quoted" \\ service ✓'),
        ("description", ""),
        ("version", "1.0.0rc1"),
        ("version", "2.0.post1.dev3"),
    ],
)
def test_unusual_but_valid_answers(field: str, value: str) -> None:
    assert hook.validate({**GOOD, field: value}) == []


def test_non_text_answers_are_rejected() -> None:
    errors = hook.validate({**GOOD, "version": 1})
    assert errors == ["version: must be text"]


def test_main_prints_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    assert hook.main({**GOOD, "package_name": "flask", "author_email": "x"}) == 1
    err = capsys.readouterr().err
    assert "package_name:" in err and "author_email:" in err
    # Impossible to miss above cookiecutter's own traceback, which follows it.
    assert "NOTHING WAS GENERATED" in err and "FailedHookException" in err
    assert err.startswith("=" * 78) and err.rstrip().endswith("=" * 78)


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"project_slug": "Bad Slug"}, "project_slug"),
        ({"project_slug": "../outside"}, "project_slug"),
        ({"package_name": "logging"}, "package_name"),
        ({"correlation_header": "X-Id\r\nEvil: 1"}, "correlation_header"),
        ({"project_name": 'Quote " and newline\n'}, "project_name"),
        ({"author_email": "nobody"}, "author_email"),
    ],
)
def test_rejected_render_names_the_field_and_leaves_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], answers: dict[str, str], field: str
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(FailedHookException):
        render(output, answers)
    assert f"ERROR: {field}:" in capfd.readouterr().err
    assert list(output.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_the_hook_receives_answers_intact(tmp_path: Path) -> None:
    # Quotes, backslashes and non-ASCII must reach the hook (and the files) unchanged.
    name = 'Zoë\'s "quoted" \\ service'
    project = render(tmp_path, {"project_name": name, "project_slug": "zoe-service"})
    assert json.loads(json.dumps(name)) in (project / "README.md").read_text()


post_gen = load_hook("post_gen_project")


@pytest.mark.parametrize(
    ("answers", "servers", "worker"),
    [
        ({}, None, False),
        ({"database": "postgresql"}, "PostgreSQL", False),
        ({"database": "mysql", "session_store": "redis"}, "MySQL or MariaDB and Redis", False),
        ({"background_jobs": "celery"}, "Redis", True),
    ],
)
def test_next_steps_fit_the_variant(
    answers: dict[str, str], servers: str | None, worker: bool
) -> None:
    steps = post_gen.next_steps(Path("/tmp/example-service"), {**GOOD, **answers})
    assert steps[0] == "cd /tmp/example-service"
    assert any(step.startswith(f"start {servers} ") for step in steps) == (servers is not None)
    assert any("make worker" in step for step in steps) == worker
    assert not any("make observe" in step for step in steps)
    assert steps[-1].startswith("make test")


def test_next_steps_show_the_observability_options() -> None:
    steps = post_gen.next_steps(Path("/tmp/example-service"), {**GOOD, "metrics": "prometheus"})
    assert any(step.startswith("make observe") for step in steps)


def test_a_render_prints_the_next_steps(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    render(tmp_path, {"database": "postgresql"})
    out = capfd.readouterr().out
    assert "Next:" in out and "start PostgreSQL" in out and "make run" in out


def test_an_old_python_is_refused_by_name() -> None:
    assert hook.check_python((3, 11, 0)) is None
    message = hook.check_python((3, 10, 14, "final", 0))
    assert message is not None and "3.11 or newer" in message and "3.10.14" in message
