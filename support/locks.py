"""The template's one lock (`scripts/lock`).

Every variant's dependencies are a subset of one project: `.lock/pyproject.toml` in the
template folder declares the union of what every combination of the dependency-changing
answers renders into its pyproject.toml, and `.lock/uv.lock` locks it. The post-generation
hook cuts that lock down to the variant it renders. This module rewrites the union from the
renders and runs one `uv lock` over it; options after `scripts/lock` go to uv (`--upgrade`,
`--upgrade-package NAME`, `--exclude-newer DATE` for a refresh that can be repeated).
Afterwards it prints what changed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from itertools import product

from cookiecutter.environment import StrictEnvironment
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

from .rendering import ANSWERS, ROOT, load_hook, run, uv

post_gen = load_hook("post_gen_project")
TEMPLATE = ROOT / "{{cookiecutter.project_slug}}"
LOCK_FOLDER = TEMPLATE / post_gen.LOCK_FOLDER
SUPERSET = LOCK_FOLDER / "pyproject.toml"
LOCK = LOCK_FOLDER / "uv.lock"
HEADER = """\
# The union of the dependencies of every variant of the template, written by scripts/lock
# from the renders: do not edit (edit the template's pyproject.toml, then run scripts/lock).
# uv.lock beside it locks this project; the post-generation hook cuts it to each variant.
"""


def dependency_fields() -> tuple[str, ...]:
    """The answers the generated pyproject.toml's Jinja branches on."""
    text = (TEMPLATE / "pyproject.toml").read_text()
    named = {
        m for tag in re.findall(r"\{%.*?%\}", text) for m in re.findall(r"cookiecutter\.(\w+)", tag)
    }
    return tuple(field for field in ANSWERS if field in named)


def dependency_variants() -> list[dict[str, str]]:
    fields = dependency_fields()
    choices = [ANSWERS[field] for field in fields]
    return [
        dict(zip(fields, combination, strict=True))
        for combination in product(*choices)  # type: ignore[arg-type]
    ]


def render_pyproject(answers: dict[str, str]) -> str:
    """The generated pyproject.toml for `answers` over the defaults, rendered by cookiecutter's
    own context and Jinja environment (the whole project is not needed for it)."""
    context = generate_context(
        context_file=str(ROOT / "cookiecutter.json"), extra_context=dict(answers)
    )
    context["cookiecutter"] = prompt_for_config(context, no_input=True)
    environment = StrictEnvironment(context=context, keep_trailing_newline=True)
    return environment.from_string((TEMPLATE / "pyproject.toml").read_text()).render(**context)


def rendered_pyprojects() -> list[dict[str, object]]:
    return [tomllib.loads(render_pyproject(answers)) for answers in dependency_variants()]


def _union(lists: list[list[str]]) -> list[str]:
    """Every requirement once; one name with two different requirements is an error, since
    the superset could lock only one of them."""
    by_name: dict[str, str] = {}
    for requirement in (r for requirements in lists for r in requirements):
        (name,) = post_gen.requirement_names([requirement])
        if by_name.setdefault(name, requirement) != requirement:
            raise SystemExit(
                f"lock: two variants require {name} differently: "
                f"{by_name[name]!r} and {requirement!r}"
            )
    return [by_name[name] for name in sorted(by_name)]


def superset(pyprojects: list[dict[str, object]]) -> str:
    """The superset project's pyproject.toml: the default variant's build settings, with the
    union of every variant's dependencies and dependency groups."""
    first = pyprojects[0]
    project = first["project"]
    tool_uv = first.get("tool", {}).get("uv", {})  # type: ignore[union-attr]
    build = first["build-system"]
    assert isinstance(project, dict) and isinstance(build, dict) and isinstance(tool_uv, dict)
    dependencies = _union([p["project"]["dependencies"] for p in pyprojects])  # type: ignore[index]
    groups = sorted({g for p in pyprojects for g in p.get("dependency-groups", {})})  # type: ignore[union-attr]
    lines = [HEADER, "[build-system]"]
    lines += [f"{key} = {_toml(value)}" for key, value in build.items()]
    lines += ["", "[project]", f'name = "{post_gen.LOCKED_NAME}"']
    lines += [f'version = "{post_gen.LOCKED_VERSION}"']
    lines += [f"requires-python = {_toml(project['requires-python'])}"]
    lines += ["dependencies = [", *[f"    {_toml(d)}," for d in dependencies], "]"]
    lines += ["", "[dependency-groups]"]
    for group in groups:
        members = _union([p.get("dependency-groups", {}).get(group, []) for p in pyprojects])  # type: ignore[union-attr]
        lines += [f"{group} = [", *[f"    {_toml(d)}," for d in members], "]"]
    if tool_uv:
        lines += ["", "[tool.uv]", *[f"{key} = {_toml(value)}" for key, value in tool_uv.items()]]
    # A workspace of its own: uv (and Dependabot's uv) would otherwise look for one in the
    # folders above, and stop at the template's pyproject.toml, which is Jinja, not TOML.
    lines += ["", "[tool.uv.workspace]", "members = []"]
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def pinned(text: str) -> dict[str, set[str]]:
    versions: dict[str, set[str]] = {}
    for package in tomllib.loads(text)["package"] if text else []:
        if not package["source"].get("editable"):
            versions.setdefault(package["name"], set()).add(package["version"])
    return versions


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    before = LOCK.read_text() if LOCK.exists() else ""
    SUPERSET.write_text(superset(rendered_pyprojects()))
    run([uv(), "lock", "--quiet", *argv], cwd=LOCK_FOLDER, env={"UV_PYTHON_DOWNLOADS": "never"})
    old, new = pinned(before), pinned(LOCK.read_text())
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            was = ", ".join(sorted(old.get(name, set()))) or "-"
            now = ", ".join(sorted(new.get(name, set()))) or "-"
            print(f"  {name}: {was} -> {now}")
    print(f"locked {LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
