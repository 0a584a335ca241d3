"""What a template branch can leave behind in a rendered project, found in its Python files:
functions with nothing in them, comments that speak of no code, and module-level names that
nothing uses. ruff finds unused imports and locals, not these."""

from __future__ import annotations

import ast
import re
from pathlib import Path

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Files in which a name may be used: code, configuration and documentation.
USES = ("*.py", "*.md", "*.toml", "*.ini", "*.cfg", "*.yaml", "*.yml", "*.mako", "Makefile")


def _empty(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = list(function.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return all(
        isinstance(node, ast.Pass)
        or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        for node in body
    )


def empty_functions(tree: ast.Module) -> list[str]:
    """Module-level functions whose body is a docstring, `pass` or `...` alone. (A method
    with nothing in it is an override that silences its base, such as a quiet
    `log_message`.)"""
    return [
        f"{node.lineno}: empty function {node.name}"
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _empty(node)
    ]


def orphan_comments(text: str) -> list[str]:
    """Comment blocks followed by a blank line or the end of the file: each spoke of code
    that a branch left out. (A comment that ends an indented block, before a dedent, says
    why the block stops there.)"""
    lines = text.splitlines()
    found = []
    for number, line in enumerate(lines):
        if not line.strip().startswith("#") or line.startswith("#!"):
            continue
        after = lines[number + 1] if number + 1 < len(lines) else ""
        if not after.strip():  # the last line of its block, and nothing below it
            found.append(f"{number + 1}: comment about nothing: {line.strip()}")
    return found


def module_names(tree: ast.Module) -> list[tuple[int, str]]:
    """Names bound at module level by assignment, and undecorated module-level functions and
    classes: what a branch can leave without a user."""
    names = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names += [(node.lineno, t.id) for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append((node.lineno, node.target.id))
        elif isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.decorator_list:
            names.append((node.lineno, node.name))
    return [(line, name) for line, name in names if not name.startswith("__")]


def unused_names(project: Path, files: dict[Path, ast.Module]) -> list[str]:
    counts: dict[str, int] = {}
    for pattern in USES:
        for path in project.rglob(pattern):
            if ".venv" in path.parts:
                continue
            for word in IDENTIFIER.findall(path.read_text(errors="replace")):
                counts[word] = counts.get(word, 0) + 1
    found = []
    for path, tree in files.items():
        if path.name == "gunicorn.conf.py":  # gunicorn reads its settings by their names
            continue
        for line, name in module_names(tree):
            # pytest finds tests, hooks and plugins by their names.
            if counts.get(name, 0) <= 1 and not name.startswith(("test_", "Test", "pytest")):
                found.append(f"{path.relative_to(project)}:{line}: {name} is never used")
    return found


def leftovers(project: Path) -> list[str]:
    files = {
        path: ast.parse(path.read_text())
        for path in sorted(project.rglob("*.py"))
        if ".venv" not in path.parts
    }
    found = unused_names(project, files)
    for path, tree in files.items():
        where = path.relative_to(project)
        found += [f"{where}:{problem}" for problem in empty_functions(tree)]
        found += [f"{where}:{problem}" for problem in orphan_comments(path.read_text())]
    return found
