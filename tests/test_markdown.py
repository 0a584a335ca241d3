"""Every Markdown file, rendered for every variant (and the template's own), parses as meant:
every code fence is closed on a line of its own and names a known language, so no branch of
the template can glue a fence to the paragraph after it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from support.rendering import ROOT, render

from .variants import VARIANTS

LANGUAGES = {"sh", "python", "mermaid", "json", "yaml", "toml", "text", "ini", "http", "nginx"}
FENCE_LINE = re.compile(r"\s*(`{3,}|~{3,})\s*")
FENCE_START = re.compile(r"\s*(`{3,}|~{3,})")
PARSER = MarkdownIt("commonmark").enable("table")


def fence_problems(text: str) -> list[str]:
    lines = text.splitlines()
    problems = []
    for token in PARSER.parse(text):
        if token.type != "fence" or token.map is None:
            continue
        start, end = token.map
        language = token.info.strip()
        if language not in LANGUAGES:
            problems.append(f"line {start + 1}: a fence opened with {token.markup + language!r}")
        closing = lines[end - 1] if end - 1 > start else ""
        if not FENCE_LINE.fullmatch(closing) or end > len(lines):
            problems.append(f"line {start + 1}: a fence that is never closed")
        for number in range(start + 1, end - 1):
            if FENCE_START.match(lines[number]):
                problems.append(f"line {number + 1}: a fence inside the fence of line {start + 1}")
    return problems


def tables_well_formed(text: str) -> list[str]:
    """A table row with a different number of cells than its header shows a broken branch."""
    problems = []
    columns = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("|"):
            cells = len(re.findall(r"(?<!\\)\|", line)) - 1
            if columns is None:
                columns = cells
            elif cells != columns:
                problems.append(f"line {number}: {cells} cells, the header has {columns}")
        else:
            columns = None
    return problems


def markdown_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.md") if ".venv" not in p.parts)


def test_the_checks_catch_a_glued_fence() -> None:
    glued = "Text\n\n```sh\nmake run\n```Under gunicorn the lines are JSON.\n\n## Next\n"
    assert fence_problems(glued)
    assert fence_problems("```python\nprint(1)\n") == ["line 1: a fence that is never closed"]
    assert fence_problems("```sh\nmake run\n```\n\nUnder gunicorn.\n") == []
    assert tables_well_formed("| a | b |\n| --- | --- |\n| 1 | 2 | 3 |\n")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_rendered_markdown_parses_cleanly(tmp_path: Path, variant: str) -> None:
    project = render(tmp_path, VARIANTS[variant])
    files = markdown_files(project)
    assert {p.name for p in files} >= {"README.md", "ARCHITECTURE.md"}
    for path in files:
        text = path.read_text()
        problems = fence_problems(text) + tables_well_formed(text)
        assert not problems, f"{path.relative_to(project)}: {problems}"


@pytest.mark.parametrize("path", ["README.md", "CHANGELOG.md", "docs/PERFORMANCE.md"])
def test_the_templates_own_markdown_parses_cleanly(path: str) -> None:
    text = (ROOT / path).read_text()
    assert not fence_problems(text) + tables_well_formed(text)
