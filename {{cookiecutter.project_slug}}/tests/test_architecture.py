"""The README, AGENTS.md and docs/ name only things that exist: modules and their attributes,
make targets and commands; the infrastructure in core/ never imports the application, which
uses only what core declares."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from flask import Flask

from .helpers import PACKAGE

PROJECT = Path(__file__).resolve().parents[1]
# docs/adding-a-resource.md names the files its reader is about to create.
DOCS = {
    path.name: path.read_text()
    for path in [
        PROJECT / "README.md",
        PROJECT / "AGENTS.md",
        *sorted((PROJECT / "docs").glob("*.md")),
    ]
    if path.name != "adding-a-resource.md"
}
NAMES = {name for text in DOCS.values() for name in re.findall(r"`([^`\s]+)`", text)}
CORE_MODULES = sorted(path.stem for path in (PROJECT / PACKAGE / "core").glob("*.py"))


def resolve(name: str) -> object:
    """`core.context.Context.user_id` -> the attribute, importing the longest module prefix."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join([PACKAGE, *parts[:split]]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            assert hasattr(target, attribute), f"{name}: no {attribute}"
            target = getattr(target, attribute)
        return target
    raise AssertionError(f"{name}: no such module in {PACKAGE}")


@pytest.mark.parametrize("name", sorted(n for n in NAMES if n.endswith(".py")))
def test_named_modules_exist(name: str) -> None:
    places = (PROJECT / PACKAGE, PROJECT, PROJECT / "tests")
    assert any((place / name).is_file() for place in places), name


@pytest.mark.parametrize("name", sorted(n for n in NAMES if re.fullmatch(r"[a-z_]+/", n)))
def test_named_folders_exist(name: str) -> None:
    assert (PROJECT / PACKAGE / name).is_dir() or (PROJECT / name).is_dir(), name


@pytest.mark.parametrize(
    "name",
    sorted(
        n
        for n in NAMES
        if re.fullmatch(r"[a-z_]+(\.[A-Za-z_]+)+", n)
        and not n.endswith((".py", ".md", ".toml", ".ini", ".yaml", ".yml", ".txt"))
        and n.split(".")[0] in {"core", *(p.stem for p in (PROJECT / PACKAGE).glob("*.py"))}
    ),
)
def test_named_attributes_exist(name: str) -> None:
    resolve(name)


def test_the_commands_agents_md_gives_exist(app: Flask) -> None:
    """Each `make` target it gives is in the Makefile (and `make -n` accepts it), and each
    `flask` command it names is one of the service's."""
    text = DOCS["AGENTS.md"]
    targets = set(re.findall(r"^make ([a-z]+)", text, re.MULTILINE))
    assert {"install", "lint", "test", "run"} <= targets
    makefile = (PROJECT / "Makefile").read_text()
    for target in targets:
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target
    named = set(re.findall(r"`((?:create|init|upgrade)-[a-z]+)`", text))
    assert named and named <= set(app.cli.commands), named


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_never_imports_the_application(module: str) -> None:
    """core/ is what a team leaves alone: it must not depend on what the team changes."""
    tree = ast.parse((PROJECT / PACKAGE / "core" / f"{module}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                in_package = name == PACKAGE or name.startswith(f"{PACKAGE}.")
                assert not in_package or name.startswith(f"{PACKAGE}.core"), name
        if isinstance(node, ast.ImportFrom):
            module_name = node.module or ""
            relative_to_package = node.level >= 2 or (
                node.level == 0
                and (module_name == PACKAGE or module_name.startswith(f"{PACKAGE}."))
            )
            inside_core = node.level == 1 or (node.module or "").startswith(f"{PACKAGE}.core")
            assert inside_core or not relative_to_package, (module, node.module)


def core_names_used(path: Path) -> list[tuple[str, str]]:
    """(core module, name) for every name an application module takes from core/: by
    `from .core.module import name`, or as `module.name` after `from .core import module`."""
    tree = ast.parse(path.read_text())
    modules: dict[str, str] = {}
    used = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        parts = (node.module or "").split(".")
        if node.level == 0 and parts[0] == PACKAGE:
            parts = parts[1:]
        elif node.level != 1:
            continue
        if parts[:1] != ["core"]:
            continue
        for alias in node.names:
            if len(parts) == 1:
                modules[alias.asname or alias.name] = alias.name
            else:
                used.append((parts[1], alias.name))
    for node in ast.walk(tree):
        named = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        if named and node.value.id in modules:  # type: ignore[attr-defined]
            used.append((modules[node.value.id], node.attr))  # type: ignore[attr-defined]
    return used


APPLICATION = sorted(
    path
    for path in (PROJECT / PACKAGE).rglob("*.py")
    if "core" not in path.relative_to(PROJECT / PACKAGE).parts
)


@pytest.mark.parametrize("path", APPLICATION, ids=lambda path: path.name)
def test_the_application_uses_only_what_core_declares(path: Path) -> None:
    """Each core module's `__all__` is what the application may use of it: the
    infrastructure can change behind it without breaking the code a team owns."""
    for module, name in core_names_used(path):
        declared = getattr(importlib.import_module(f"{PACKAGE}.core.{module}"), "__all__", [])
        assert name in declared, f"{path.name} uses core.{module}.{name}, not in its __all__"
