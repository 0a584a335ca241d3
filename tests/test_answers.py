"""Arbitrary text for every free-text answer: either the hook rejects it, naming the field and
leaving nothing on disk, or the render is a valid project holding the answer exactly."""

from __future__ import annotations

import ast
import tempfile
import tomllib
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.rendering import render

from .test_hooks import hook

FREE_TEXT = ["project_name", "description", "author_name", "author_email", "version"]
bounded = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@bounded
@given(field=st.sampled_from(FREE_TEXT), value=st.text(max_size=120))
def test_any_free_text_answer(field: str, value: str) -> None:
    answers = {field: value}
    if field == "project_name":
        answers["project_slug"] = "any-answer"  # the slug has rules of its own, tested apart
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder)
        if hook.CHECKS[field](value) is not None:
            with pytest.raises(FailedHookException):
                render(output, answers)
            assert list(output.iterdir()) == []
            return
        project = render(output, answers)
        metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
        if field == "description":
            assert metadata["description"] == value
        if field == "author_name":
            assert metadata["authors"][0]["name"] == value
        for path in project.rglob("*.py"):
            ast.parse(path.read_text(), filename=str(path))
