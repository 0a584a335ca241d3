"""docs/ARCHITECTURE.md names only things that exist: modules, their attributes, settings."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = "{{ cookiecutter.package_name }}"
DOC = (PROJECT / "docs" / "ARCHITECTURE.md").read_text()
NAMES = set(re.findall(r"`([^`\s]+)`", DOC))
# Settings are read in config.py; the correlation headers are the context's own.
SETTINGS_SOURCE = "".join((PROJECT / PACKAGE / n).read_text() for n in ("config.py", "context.py"))


@pytest.mark.parametrize("name", sorted(n for n in NAMES if n.endswith(".py")))
def test_named_modules_exist(name: str) -> None:
    assert (PROJECT / PACKAGE / name).is_file() or (PROJECT / name).is_file(), name


@pytest.mark.parametrize(
    "name",
    sorted(n for n in NAMES if re.fullmatch(r"[a-z_]+(\.[A-Za-z_]+)+", n) and n[-3:] != ".py"),
)
def test_named_attributes_exist(name: str) -> None:
    module_name, *attributes = name.split(".")
    target: object = importlib.import_module(f"{PACKAGE}.{module_name}")
    for attribute in attributes:
        assert hasattr(target, attribute), f"{name}: no {attribute}"
        target = getattr(target, attribute)


@pytest.mark.parametrize("name", sorted(n for n in NAMES if re.fullmatch(r"[A-Z][A-Z_]+", n)))
def test_named_settings_exist(name: str) -> None:
    assert f'"{name}"' in SETTINGS_SOURCE, name
