"""The installed `shipit init`, run as a subprocess in a fresh project folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.helpers import Run, run_shipit

from shipit.config import load_config, resolve_environment

pytestmark = pytest.mark.e2e


def shipit(folder: Path, *args: str) -> Run:
    return run_shipit(*args, cwd=folder, env={"NO_COLOR": "1"}, timeout=60)


@pytest.fixture
def python_project(tmp_path: Path) -> Path:
    folder = tmp_path / "Shop Front"
    folder.mkdir()
    (folder / "Procfile").write_text("web: python3 app.py\n", encoding="utf-8")
    (folder / "requirements.txt").write_text("psycopg[binary]>=3\n", encoding="utf-8")
    (folder / "app.py").write_text('ROUTES = {"/health": None}\n', encoding="utf-8")
    return folder


def test_init_writes_a_config_that_loads(python_project: Path) -> None:
    result = shipit(python_project, "init")
    assert result.code == 0, str(result)
    assert "wrote shipit.toml" in result.stdout
    assert "start: python3 app.py  (from Procfile)" in result.stdout
    loaded = load_config(python_project / "shipit.toml")
    assert loaded.config.project.name == "shop-front"
    web = resolve_environment(loaded, "local").services["web"]
    assert web.start == "python3 app.py"
    assert web.health_path == "/health"
    assert web.database == "postgres"
    assert web.source == python_project.resolve()
    assert (python_project / ".gitignore").read_text() == ".shipit/\n.env\n"
    assert not [p for p in python_project.iterdir() if p.name.endswith(".tmp")]


def test_init_refuses_to_overwrite_without_force(python_project: Path) -> None:
    config = python_project / "shipit.toml"
    config.write_text("# mine\n", encoding="utf-8")
    refused = shipit(python_project, "init")
    assert refused.code == 2
    assert "error: shipit.toml already exists" in refused.stderr
    assert "--force" in refused.stderr
    assert config.read_text() == "# mine\n"
    assert not (python_project / ".gitignore").exists()

    forced = shipit(python_project, "init", "--force", "--name", "shop")
    assert forced.code == 0, str(forced)
    assert load_config(config).config.project.name == "shop"


def test_gitignore_is_updated_once(python_project: Path) -> None:
    (python_project / ".gitignore").write_text("__pycache__/\n.env\n", encoding="utf-8")
    assert shipit(python_project, "init").code == 0
    assert shipit(python_project, "init", "--force").code == 0
    assert (python_project / ".gitignore").read_text() == "__pycache__/\n.env\n.shipit/\n"


def test_dockerfile_project_with_json_output(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        'FROM python:3.12-slim\nEXPOSE 8080\nCMD ["python3", "server.py"]\n', encoding="utf-8"
    )
    result = shipit(tmp_path, "init", "--json", "--name", "api", "--image", "ghcr.io/me/api")
    assert result.code == 0, str(result)
    document = json.loads(result.stdout)
    assert Path(document["config"]) == (tmp_path / "shipit.toml").absolute()
    detected = document["detected"]
    assert detected["dockerfile"] == "Dockerfile"
    assert (detected["start"], detected["start_from"]) == ("python3 server.py", "Dockerfile")
    assert detected["port"] == 8080
    assert detected["procfile"] is None
    service = load_config(tmp_path / "shipit.toml").config.services["web"]
    assert service.image == "ghcr.io/me/api"
    assert service.build is not None
    assert service.port == 8080


def test_invalid_name_is_a_usage_error(tmp_path: Path) -> None:
    result = shipit(tmp_path, "init", "--name", "Not Valid")
    assert result.code == 2
    assert "error: --name 'Not Valid' is not a valid project name" in result.stderr
    assert not (tmp_path / "shipit.toml").exists()
