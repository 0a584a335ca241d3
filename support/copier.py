"""copier.yml, written from cookiecutter.json: the one list of questions serves both tools.

    python -m support.copier     # after changing cookiecutter.json or a hook's rules

tests/test_copier.py fails when copier.yml is not what this writes. Each question keeps its
help text, choices (with their labels), default (cookiecutter's Jinja, which copier renders
with the `cookiecutter` mapping of hooks/copier_extension.py) and, for free-text answers,
the rule of hooks/pre_gen_project.py as copier's validator.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from support.rendering import ROOT, load_hook

COPIER_YML = ROOT / "copier.yml"
ANSWERS_FILE = ".copier-answers.yml"


def quoted(value: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(value, ensure_ascii=False)


def settings(questions: dict[str, Any]) -> list[str]:
    folders = load_hook("post_gen_project").OPTIONAL_FOLDERS
    excluded = [
        *(
            f"{{% if _copier_operation == 'update' %}}{path}{{% endif %}}"
            for path in questions.get("_copy_without_render", [])
        ),
        *(
            f"{{% if {field} != '{wanted}' %}}{folder}{{% endif %}}"
            for folder, (field, wanted) in folders.items()
        ),
    ]
    post_gen = [
        "{{ _copier_python }}",
        "{{ _copier_conf.src_path }}/hooks/post_gen_project.py",
        "{{ cookiecutter | tojson }}",
    ]
    return [
        "# Written by `python -m support.copier` from cookiecutter.json: change that, then rerun.",
        "# copier copy --trust needs copier-template-extensions and python-slugify beside copier.",
        '_min_copier_version: "9.19.1"',
        '_subdirectory: "{% raw %}{{cookiecutter.project_slug}}{% endraw %}"',
        # Every file is a template, as in cookiecutter (uv.lock holds no Jinja: test_copier).
        '_templates_suffix: ""',
        "_envops:",
        "  undefined: jinja2.StrictUndefined",
        f"_answers_file: {ANSWERS_FILE}",
        "_jinja_extensions:",
        "  - copier_template_extensions.TemplateExtensionLoader",
        "  - hooks/copier_extension.py:CookiecutterContext",
        "# An update never brings the template's lock: `make update` locks the merged",
        "# pyproject.toml anew. A folder an answer does not want stays away on update too.",
        "_exclude:",
        *(f"  - {quoted(pattern)}" for pattern in excluded),
        "# On copy: the variant's uv.lock, the unwanted folders, the next steps.",
        "_tasks:",
        f"  - command: [{', '.join(quoted(part) for part in post_gen)}]",
        "    when: \"{{ _copier_operation == 'copy' }}\"",
    ]


def question(name: str, default: object, prompt: object, checked: bool) -> list[str]:
    lines = ["", f"{name}:", "  type: str"]
    if isinstance(default, list):
        labels = prompt if isinstance(prompt, dict) else {}
        lines += [f"  help: {quoted(labels.get('__prompt__', name))}", "  choices:"]
        lines += [f"    {quoted(labels.get(value, value))}: {quoted(value)}" for value in default]
        lines.append(f"  default: {quoted(default[0])}")
    else:
        lines += [f"  help: {quoted(str(prompt or name))}", f"  default: {quoted(str(default))}"]
    if checked:
        rule = "{{ " + name + " | refused('" + name + "') }}"
        lines.append(f"  validator: {quoted(rule)}")
    return lines


def copier_yml() -> str:
    questions: dict[str, Any] = json.loads((ROOT / "cookiecutter.json").read_text())
    prompts = questions.get("__prompts__", {})
    checks = load_hook("pre_gen_project").CHECKS
    lines = settings(questions)
    for name, default in questions.items():
        if not name.startswith("_"):
            lines += question(name, default, prompts.get(name), name in checks)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    COPIER_YML.write_text(copier_yml())
    sys.exit(0)
