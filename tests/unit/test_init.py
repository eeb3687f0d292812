"""`shipit init` detection and rendering: what it finds, and that what it writes loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipit.cli.init import (
    detect,
    dockerfile_cmd,
    dockerfile_port,
    procfile_web,
    project_name,
    render,
    requirement_names,
    update_gitignore,
    write_atomic,
)
from shipit.config import parse_config, resolve_environment


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def loads(text: str, folder: Path) -> None:
    loaded = parse_config(text, folder / "shipit.toml")
    for name in loaded.config.environments:
        resolve_environment(loaded, name)


@pytest.mark.parametrize(
    ("folder", "name"),
    [("My_App 2", "my-app-2"), ("shop", "shop"), ("---", "app"), ("Ünïcode", "n-code")],
)
def test_project_name_from_folder(folder: str, name: str) -> None:
    assert project_name(folder) == name


def test_procfile_web_line() -> None:
    text = "release: python manage.py migrate\nweb:   gunicorn app:app -b :$PORT  \nworker: x\n"
    assert procfile_web(text) == "gunicorn app:app -b :$PORT"
    assert procfile_web("worker: python w.py\n") is None


def test_dockerfile_cmd_and_port() -> None:
    text = (
        "FROM python:3.12 AS build\nEXPOSE 9000\n# CMD ignored\nFROM build\n"
        'EXPOSE 8080/tcp 9090\nCMD ["gunicorn", "--bind", "0.0.0.0:8080", \\\n  "app:app"]\n'
    )
    assert dockerfile_cmd(text) == "gunicorn --bind 0.0.0.0:8080 app:app"
    assert dockerfile_port(text) == 8080
    assert dockerfile_cmd("FROM x\nCMD python3 app.py --port $PORT\n") == (
        "python3 app.py --port $PORT"
    )
    assert dockerfile_cmd("FROM x\n") is None
    assert dockerfile_port("FROM x\nEXPOSE $PORT\n") is None


def test_requirement_names() -> None:
    text = "Flask>=3\npsycopg[binary]==3.1  # db\n-r base.txt\n# comment\nDj_Database_URL\n"
    assert requirement_names(text) == {"flask", "psycopg", "dj-database-url"}


def test_detect_python_with_procfile(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Procfile": "web: gunicorn app:app\n",
            "requirements.txt": "flask\npsycopg2-binary\n",
            "app.py": 'app.get("/healthz")\n',
            ".env": "A=1\n",
        },
    )
    found = detect(tmp_path, "demo")
    assert found.name == "demo"
    assert found.language == "python"
    assert (found.start, found.start_from) == ("gunicorn app:app", "Procfile")
    assert found.database == "postgres"
    assert found.health_path == "/healthz"
    assert found.dockerfile is None
    assert found.dotenv is True
    text = render(found)
    loads(text, tmp_path)
    assert 'start = "gunicorn app:app"' in text
    assert 'health_path = "/healthz"' in text
    assert '\ndatabase = "postgres"' in text


def test_detect_node_start_script_and_lockfile(tmp_path: Path) -> None:
    package = {"scripts": {"start": "node server.js"}, "dependencies": {"pg": "^8"}}
    write(tmp_path, {"package.json": json.dumps(package), "package-lock.json": "{}"})
    found = detect(tmp_path)
    assert found.language == "node"
    assert (found.start, found.build_command) == ("npm start", "npm ci")
    assert found.database == "postgres"
    assert found.health_path is None
    loads(render(found), tmp_path)


def test_detect_pyproject_dependencies(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\ndependencies = ["asyncpg>=0.29"]\n',
            "main.py": "print('hi')\n",
        },
    )
    found = detect(tmp_path)
    assert (found.start, found.start_from) == ("python3 main.py", "main.py")
    assert found.database == "postgres"


def test_health_route_search_skips_vendored_folders(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "node_modules/lib/index.js": 'route("/health")\n',
            ".venv/x.py": '"/health"\n',
            "src/app/routes.py": "@get('/up')\n",
        },
    )
    assert detect(tmp_path).health_path == "/up"


def test_dockerfile_build_table_commented_unless_an_image_is_given(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM python:3.12\nEXPOSE 5000\nCMD python3 app.py\n"})
    found = detect(tmp_path, "demo")
    assert (found.port, found.start) == (5000, "python3 app.py")
    plain = render(found)
    assert "# [services.web.build]" in plain
    loaded = parse_config(plain, tmp_path / "shipit.toml")
    assert loaded.config.services["web"].build is None
    assert loaded.config.services["web"].port == 5000
    live = parse_config(render(found, image="ghcr.io/me/demo"), tmp_path / "shipit.toml")
    service = live.config.services["web"]
    assert service.image == "ghcr.io/me/demo"
    assert service.build is not None
    assert service.build.dockerfile == "Dockerfile"


def test_nothing_detected_still_renders_a_valid_file(tmp_path: Path) -> None:
    found = detect(tmp_path, "bare")
    assert found.start is None
    loads(render(found, source='sub dir/"quoted"'), tmp_path)


def test_gitignore_created_then_left_alone(tmp_path: Path) -> None:
    assert update_gitignore(tmp_path) == [".shipit/", ".env"]
    assert (tmp_path / ".gitignore").read_text() == ".shipit/\n.env\n"
    assert update_gitignore(tmp_path) == []
    assert (tmp_path / ".gitignore").read_text() == ".shipit/\n.env\n"


def test_gitignore_appends_only_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules\n/.env", encoding="utf-8")
    assert update_gitignore(tmp_path) == [".shipit/"]
    assert (tmp_path / ".gitignore").read_text() == "node_modules\n/.env\n.shipit/\n"


def test_write_atomic_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "shipit.toml"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["shipit.toml"]
