"""Container files, checked as far as a machine without a container engine allows: they
parse, name commands and settings that exist, and the image's install and command work."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.rendering import render, run, uv
from support.services import Client, Service, gunicorn_command

from .variants import VARIANTS

DOCKER_VARIANTS = sorted(name for name, v in VARIANTS.items() if v.get("use_docker") != "no")


def dockerfile_instructions(project: Path) -> list[tuple[str, str]]:
    text = (project / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def settings_of(project: Path) -> str:
    """Where settings are declared (typed fields of the core's settings classes) or read (by
    gunicorn's configuration, from the environment)."""
    package = project / project.name.replace("-", "_")
    sources = [*sorted((package / "core").glob("*.py")), project / "gunicorn.conf.py"]
    return "".join(path.read_text() for path in sources)


@pytest.fixture(scope="module", params=DOCKER_VARIANTS)
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp(request.param), VARIANTS[request.param])


def test_no_container_files_without_docker(tmp_path: Path) -> None:
    project = render(tmp_path, {"use_docker": "no"})
    for name in ("Dockerfile", ".dockerignore", "compose.yaml"):
        assert not (project / name).exists()


def test_dockerfile_is_multi_stage_non_root_and_runs_gunicorn(project: Path) -> None:
    instructions = dockerfile_instructions(project)
    stages = [argument for keyword, argument in instructions if keyword == "FROM"]
    # uv's image (a stage only to copy uv from), then the build and the runtime images.
    uv_stage, *images = stages
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+ AS uv", uv_stage)
    assert len(images) == 2 and all("-slim" in stage for stage in images)
    assert ("USER", "app") in instructions
    (command,) = [json.loads(argument) for keyword, argument in instructions if keyword == "CMD"]
    assert command == gunicorn_command(project.name.replace("-", "_"))
    runs = [argument for keyword, argument in instructions if keyword == "RUN"]
    installs = [argument for argument in runs if argument.startswith("uv sync")]
    # From the lock, unchanged, without the dev group: the dependencies, then the package.
    assert installs == [
        "uv sync --locked --no-dev --no-install-project",
        "uv sync --locked --no-dev --no-editable",
    ]
    assert not any("pip" in argument for argument in runs)
    assert ("COPY", "pyproject.toml uv.lock ./") in instructions
    healthcheck = " ".join(
        argument for keyword, argument in instructions if keyword == "HEALTHCHECK"
    )
    assert "/healthz" in healthcheck


def test_dockerignore_keeps_only_what_the_image_needs(project: Path) -> None:
    lines = (project / ".dockerignore").read_text().splitlines()
    assert "*" in lines
    for copied in ("pyproject.toml", "uv.lock", "README.md", "gunicorn.conf.py"):
        assert f"!{copied}" in lines
    assert not any("tests" in line and line.startswith("!") for line in lines)


def test_compose_file_wires_health_checks_and_migrations(project: Path) -> None:
    check = Path(sys.executable).parent / "check-jsonschema"
    run([str(check), "--builtin-schema", "vendor.compose-spec", "compose.yaml"], cwd=project)
    compose: dict[str, Any] = yaml.safe_load((project / "compose.yaml").read_text())
    services = compose["services"]
    package = project.name.replace("-", "_")
    assert services["migrate"]["command"] == ["flask", "--app", package, "init-db"]
    assert services["web"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    for name, service in services.items():
        if name in {"db", "redis"}:
            assert "healthcheck" in service, name
    assert ("db" in services) == ("DATABASE_URL" in services["web"]["environment"])
    settings = settings_of(project)
    for name, service in services.items():
        if name in {"db", "redis", "proxy"}:
            continue
        for variable in service.get("environment", {}):
            read = f'"{variable}"' in settings or f"\n    {variable}: " in settings
            assert read, f"{variable} is not read by the service"


def test_only_the_proxy_faces_clients(project: Path) -> None:
    """gunicorn is published through nginx, running the configuration the tests run."""
    compose: dict[str, Any] = yaml.safe_load((project / "compose.yaml").read_text())
    services = compose["services"]
    published = sorted(name for name, service in services.items() if "ports" in service)
    assert published == ["proxy"]
    proxy = services["proxy"]
    mounts = dict(mount.rsplit(":", 1)[0].split(":") for mount in proxy["volumes"])
    assert mounts == {
        "./nginx/nginx.conf": "/etc/nginx/nginx.conf",
        "./nginx/service.conf.template": "/etc/nginx/templates/default.conf.template",
    }
    assert all((project / source).is_file() for source in mounts)
    # nginx.conf raises its file limit to 65536: the container must allow it.
    assert proxy["ulimits"]["nofile"] == {"soft": 65536, "hard": 65536}
    assert "worker_rlimit_nofile 65536;" in (project / "nginx" / "nginx.conf").read_text()
    assert proxy["environment"]["UPSTREAM"] == "web:8000"
    assert proxy["depends_on"]["web"] == {"condition": "service_healthy"}
    # In the image gunicorn listens on the container network, which only the proxy reaches.
    assert "BIND=0.0.0.0:8000" in (project / "Dockerfile").read_text()


def test_image_install_and_command_work_outside_a_container(tmp_path: Path) -> None:
    """What the Dockerfile does, step by step, minus the container: the locked install
    (dependencies from uv.lock, then the package, not editable, no dev tools) from the files
    .dockerignore lets through, then the migrate and web commands from a folder holding only
    gunicorn.conf.py."""
    project = render(tmp_path / "render")
    package = project.name.replace("-", "_")
    context = tmp_path / "context"
    context.mkdir()
    for name in ("pyproject.toml", "uv.lock", "README.md", "gunicorn.conf.py"):
        shutil.copy(project / name, context / name)
    shutil.copytree(project / package, context / package)
    venv = tmp_path / "venv"
    image_env = {"UV_PROJECT_ENVIRONMENT": str(venv)}
    for keyword, argument in dockerfile_instructions(project):
        if keyword == "RUN" and argument.startswith("uv sync"):
            run([uv(), *argument.split()[1:]], cwd=context, env=image_env)
    installed = {path.name for path in (venv / "bin").iterdir()}
    assert {"flask", "gunicorn", "alembic"} <= installed
    assert not {"pytest", "ruff", "mypy"} & installed
    lock = tomllib.loads((project / "uv.lock").read_text())
    locked = {package["name"]: package["version"] for package in lock["package"]}
    version = "from importlib.metadata import version; print(version('flask'))"
    flask = run([str(venv / "bin" / "python"), "-c", version], cwd=tmp_path)
    assert flask.stdout.strip() == locked["flask"]
    # Not editable: the image holds no source tree, only the installed package.
    shutil.rmtree(context / package)
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    shutil.copy(context / "gunicorn.conf.py", app_dir)
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "INSTANCE_PATH": str(tmp_path / "data"),
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
    }
    run([str(venv / "bin" / "flask"), "--app", package, "init-db"], cwd=app_dir, env=env)
    program, *arguments = gunicorn_command(package)
    service = Service(app_dir, [str(venv / "bin" / program), *arguments], env)
    try:
        service.start()
        status, _, body = Client(service.url).call("GET", "/readyz")
        assert status == 200, body
    finally:
        service.stop()
    assert re.search(r'"logger": "gunicorn.access"', service.output())
