"""Every setting is declared once, with a type, a default and a description (core/config.py,
and the settings classes of the database, the session store and the options); the table of
docs/configuration.md and .env.example document exactly those; a bad value is one line
naming it."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from {{ cookiecutter.package_name }}.core.config import ConfigError, Settings, from_environ

from .helpers import PACKAGE

PROJECT = Path(__file__).resolve().parents[1]
# Variables the docs name that are not the service's settings, and the file that reads each:
# the process around the service (gunicorn's master), a command's option.
OTHERS = {
    "CORRELATION_ID": f"{PACKAGE}/core/context.py",
    "INSTANCE_PATH": f"{PACKAGE}/__init__.py",
    "METRICS_BIND": f"{PACKAGE}/core/metrics_server.py",
    "PROMETHEUS_MULTIPROC_DIR": f"{PACKAGE}/core/metrics_server.py",
}


def declared() -> dict[str, FieldInfo]:
    """Every setting of every settings class in core/, by name: its field."""
    fields: dict[str, FieldInfo] = {}
    for path in sorted((PROJECT / PACKAGE / "core").glob("*.py")):
        module = importlib.import_module(f"{PACKAGE}.core.{path.stem}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseSettings) and cls.__module__ == module.__name__:
                fields.update(cls.model_fields)
    return fields


def table() -> dict[str, str]:
    """The settings table of docs/configuration.md: name -> its default cell."""
    text = (PROJECT / "docs" / "configuration.md").read_text()
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_*]*)` \| ([^|]*) \|", text, re.M)
    return dict(rows)


def env_example() -> set[str]:
    text = (PROJECT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.M))


def test_every_setting_is_declared_with_a_type_default_and_description() -> None:
    fields = declared()
    assert set(Settings.model_fields) <= set(fields)
    for name, field in fields.items():
        assert field.description and "\n" not in field.description, name
        assert field.annotation is not None, name


def test_the_docs_document_exactly_the_settings() -> None:
    documented = {name for name in table() if not name.endswith("*")}
    assert documented - set(OTHERS) == set(declared())
    for name, file in OTHERS.items():
        if name in documented:
            assert name in (PROJECT / file).read_text(), (name, file)


def test_the_docs_give_the_declared_number_defaults() -> None:
    fields = declared()
    for name, default in table().items():
        field = fields.get(name)
        value = field.default if field else None
        if isinstance(value, int) and not isinstance(value, bool):
            assert f"`{value}`" in default, (name, default)


def test_env_example_names_every_setting_and_only_settings() -> None:
    named = {name for name in env_example() if not name.startswith(("TEST_", "OTEL_"))}
    assert named - set(OTHERS) == set(declared())


def test_each_init_app_names_the_settings_its_module_reads() -> None:
    """As flask-sqlalchemy's init_app does: a reader sees what a module depends on."""
    names = set(declared())
    for path in sorted((PROJECT / PACKAGE).rglob("*.py")):
        source = path.read_text()
        reads = {n for n in names if re.search(rf'config(\.get\(|\[|\.setdefault\()"{n}"', source)}
        init_app = [
            node
            for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef) and node.name == "init_app"
        ]
        if reads and init_app:
            docstring = ast.get_docstring(init_app[0]) or ""
            missing = sorted(n for n in reads if n not in docstring)
            assert not missing, (path.name, missing)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("APP_ENV", "prod", "APP_ENV: Input should be 'production', 'development' or 'testing'"),
        ("DATABASE_POOL_SIZE", "0", "DATABASE_POOL_SIZE: Input should be greater than 0"),
        ("MAX_CONTENT_LENGTH", "1MB", "MAX_CONTENT_LENGTH: Input should be a valid integer"),
        ("TRUSTED_PROXY_HOPS", "-1", "TRUSTED_PROXY_HOPS: Input should be greater than or equal"),
        ("ACCESS_LOG", "sometimes", "ACCESS_LOG: Input should be a valid boolean"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting_and_the_value(
    name: str, value: str, words: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as raised:
        from_environ({name: value}, str(tmp_path))
    message = raised.value.format_message()
    assert message.startswith(words) and f"(got {value!r})" in message
    assert "\n" not in message
