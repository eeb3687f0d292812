"""Finding and loading shipit.toml: upward search, -c/--config, missing files, the example."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipit.config import find_config, load_config, resolve_environment
from shipit.config.models import FlyBlock, LocalBlock, RailwayBlock
from shipit.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "shipit.example.toml"

MINIMAL = """\
[project]
name = "demo"

[services.web]
source = "app"
start = "python3 app.py"

[environments.local]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "app" / "deep" / "er").mkdir(parents=True)
    (root / "shipit.toml").write_text(MINIMAL, encoding="utf-8")
    return root


def test_found_upward_from_a_sub_directory(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project / "app" / "deep" / "er")
    loaded = load_config()
    assert loaded.path == (project / "shipit.toml").resolve()
    assert loaded.root == project.resolve()
    assert loaded.config.project.name == "demo"
    # relative paths in the file are relative to the file, not to the working directory
    spec = resolve_environment(loaded, "local").services["web"]
    assert spec.source == (project / "app").resolve()


def test_find_config_prefers_the_nearest_file(project: Path) -> None:
    nested = project / "app" / "deep"
    (nested / "shipit.toml").write_text(MINIMAL, encoding="utf-8")
    assert find_config(nested / "er") == (nested / "shipit.toml").resolve()
    assert find_config(project / "app") == (project / "shipit.toml").resolve()


def test_explicit_path_is_used_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "configs" / "deploy.toml"
    other.parent.mkdir()
    other.write_text(MINIMAL.replace('"demo"', '"other"'), encoding="utf-8")
    (tmp_path / "shipit.toml").write_text(MINIMAL, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    loaded = load_config(Path("configs/deploy.toml"))
    assert loaded.config.project.name == "other"
    assert loaded.root == other.parent.resolve()


def test_cli_config_option_reaches_the_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipit.cli import context, options

    other = tmp_path / "elsewhere.toml"
    other.write_text(MINIMAL.replace('"demo"', '"chosen"'), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    parsed, rest = options.extract(["status", "-c", "elsewhere.toml"])
    assert rest == ["status"]
    monkeypatch.setattr(options, "current", parsed)
    assert context.load().config.project.name == "chosen"


def test_missing_explicit_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config(Path("nope.toml"))
    assert str(caught.value) == "nope.toml: no such file"
    assert caught.value.hint == "check -c/--config"
    assert caught.value.exit_code == 2


def test_no_file_anywhere_upward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(caught.value) == "no shipit.toml in . or any parent folder"
    assert caught.value.hint is not None
    assert "shipit init" in caught.value.hint


def test_unknown_environment_names_the_defined_ones(project: Path) -> None:
    loaded = load_config(project / "shipit.toml")
    with pytest.raises(ConfigError) as caught:
        resolve_environment(loaded, "prod")
    assert str(caught.value) == "no environment 'prod' in shipit.toml (defined: local)"


def test_example_file_validates_and_every_environment_resolves() -> None:
    loaded = load_config(EXAMPLE)
    config = loaded.config
    assert config.project.name == "example"
    assert config.pipeline() == ["local", "preview", "staging", "production"]
    envs = {name: resolve_environment(loaded, name) for name in config.pipeline()}
    assert {name: env.provider for name, env in envs.items()} == {
        "local": "local",
        "preview": "local",
        "staging": "railway",
        "production": "fly",
    }
    assert envs["local"].block == LocalBlock(host="127.0.0.1", port=8100)
    assert isinstance(envs["preview"].block, LocalBlock)
    assert envs["preview"].block.port == 8200
    assert envs["staging"].block == RailwayBlock(project="example", environment="staging")
    assert isinstance(envs["production"].block, FlyBlock)
    assert envs["production"].block.app == "example-web"

    for env in envs.values():
        web = env.services["web"]
        assert web.source == REPO_ROOT / "examples" / "app"
        assert web.start == "python3 app.py"
        assert web.health_path == "/health"
        assert web.image == "ghcr.io/example/web"  # what the cloud environments run
        assert web.build is not None
        assert web.build.dockerfile == "examples/app/Dockerfile"
    # local runs on a bare machine: the secret has a plain, development-only value there
    assert envs["local"].services["web"].secrets == ()
    assert envs["local"].services["web"].env["SECRET_KEY"] == "dev-only-not-secret"
    assert envs["local"].services["web"].env["DEBUG"] == "true"
    # everywhere else it stays a secret whose value is never in the file
    for name in ("preview", "staging", "production"):
        assert envs[name].services["web"].secrets == ("SECRET_KEY",)
        assert "SECRET_KEY" not in envs[name].services["web"].env
    production = envs["production"].services["web"]
    assert production.replicas == 2
    assert production.remote_name == "example-web"
