"""What copier's Jinja needs to render this cookiecutter template as cookiecutter does.

copier.yml loads it through copier-template-extensions (a Jinja extension from the template
is code that runs, hence `copier copy --trust`). It gives copier's Jinja:

- `cookiecutter`: the answers as one mapping, which the file names and files read; a context
  entry, not a question, so it never reaches .copier-answers.yml;
- `slugify`: cookiecutter's filter (python-slugify, which cookiecutter installs with itself),
  for project_slug's default;
- `refused(field)`: the rule of hooks/pre_gen_project.py for that answer, as copier's
  validators want it: the message, or "" when the answer is good. One rule for both tools.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook

try:
    from slugify import slugify
except ImportError as error:  # a render with another slug would not be cookiecutter's
    raise ImportError(
        "copier needs python-slugify beside it for this template: "
        "uv tool install copier --with copier-template-extensions --with python-slugify"
    ) from error

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    name
    for name in json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
    if not name.startswith("_")
]


def _load_rules() -> Any:
    # The hook is a script that cookiecutter renders; imported, its main() does not run.
    path = ROOT / "hooks" / "pre_gen_project.py"
    spec = importlib.util.spec_from_file_location("pre_gen_project", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RULES = _load_rules()


def refused(value: object, field: str) -> str:
    """Why the answer to `field` is refused, or "" when it is good."""
    if not isinstance(value, str):
        return "must be text"
    return RULES.CHECKS[field](value) or ""


class CookiecutterContext(ContextHook):
    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters["slugify"] = slugify
        environment.filters["refused"] = refused

    def hook(self, context: dict[str, Any]) -> None:
        context["cookiecutter"] = {name: context[name] for name in QUESTIONS if name in context}
