"""The hook's list of reserved module names cannot drift: every top-level import name installed
for any variant (its dependencies and development tools) is refused as a package name."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from support.rendering import load_hook, render, run

from .variants import VARIANTS

pytestmark = pytest.mark.slow
hook = load_hook("pre_gen_project")
LIST_IMPORT_NAMES = (
    "import importlib.metadata, json; print(json.dumps(sorted(importlib.metadata"
    ".packages_distributions())))"
)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_no_installed_module_name_is_accepted(
    tmp_path: Path, environment_for: Callable[[Path], Path], variant: str
) -> None:
    project = render(tmp_path, VARIANTS[variant])
    python = environment_for(project) / "bin" / "python"
    names = json.loads(run([str(python), "-c", LIST_IMPORT_NAMES], cwd=tmp_path).stdout)
    own = project.name.replace("-", "_")
    # Names the package rule refuses anyway (underscores first, capitals) cannot collide.
    candidates = [n for n in names if hook.PACKAGE_RE.fullmatch(n) and n != own]
    accepted = [n for n in candidates if hook.check_package_name(n) is None]
    assert not accepted, f"add to DEPENDENCY_MODULES in hooks/pre_gen_project.py: {accepted}"
    assert "flask" in candidates  # the listing itself worked


def test_the_names_that_once_slipped_through_are_refused() -> None:
    for name in ("limits", "kombu"):
        assert re.search("dependency", hook.check_package_name(name) or ""), name
