"""Environment overlays: which value a service gets in each environment."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from shipit.config import parse_config, resolve_environment
from shipit.config.loader import LoadedConfig
from shipit.config.overlay import ServiceSpec, env_text, previous_in_pipeline

BASE = """\
[project]
name = "demo"

[services.web]
start = "python3 app.py"
port = 8000
health_path = "/health"
health_timeout = 30
env = { LEVEL = "service", ONLY_SERVICE = "s", DEBUG = false }
secrets = ["SECRET_KEY", "API_TOKEN"]
database = "postgres"

[services.worker]
start = "python3 worker.py"
health_path = "/ready"

[environments.local]
env = { LEVEL = "environment", ONLY_ENV = "e", DEBUG = true, SECRET_KEY = "dev" }

[environments.local.services.web]
env = { LEVEL = "override", ONLY_OVERRIDE = "o" }

[environments.production]
provider = "fly"
fly = { app = "demo-web" }

[environments.production.services.web]
name = "demo-web-prod"
start = "gunicorn app:app"
port = 8080
health_path = "/up"
health_timeout = 120
database = "sqlite"
replicas = 3
"""


def loaded(text: str = BASE) -> LoadedConfig:
    return parse_config(dedent(text), Path("shipit.toml"))


def web(env: str, text: str = BASE) -> ServiceSpec:
    return resolve_environment(loaded(text), env).services["web"]


def test_env_layers_service_then_environment_then_override() -> None:
    spec = web("local")
    assert spec.env["LEVEL"] == "override"
    assert spec.env["ONLY_SERVICE"] == "s"
    assert spec.env["ONLY_ENV"] == "e"
    assert spec.env["ONLY_OVERRIDE"] == "o"
    production = web("production")
    assert production.env["LEVEL"] == "service"
    assert "ONLY_ENV" not in production.env


def test_environment_env_reaches_every_service_but_overrides_only_theirs() -> None:
    worker = resolve_environment(loaded(), "local").services["worker"]
    assert worker.env == {
        "LEVEL": "environment",
        "ONLY_ENV": "e",
        "DEBUG": "true",
        "SECRET_KEY": "dev",
    }


def test_secret_with_a_plain_value_in_an_environment_becomes_plain() -> None:
    local = web("local")
    assert local.secrets == ("API_TOKEN",)
    assert local.plain_secrets == ("SECRET_KEY",)
    assert local.env["SECRET_KEY"] == "dev"
    production = web("production")
    assert production.secrets == ("SECRET_KEY", "API_TOKEN")
    assert production.plain_secrets == ()
    assert "SECRET_KEY" not in production.env


def test_secret_made_plain_by_a_per_service_override() -> None:
    text = BASE.replace('ONLY_OVERRIDE = "o"', 'ONLY_OVERRIDE = "o", API_TOKEN = "t"')
    spec = web("local", text)
    assert spec.secrets == ()
    assert set(spec.plain_secrets) == {"SECRET_KEY", "API_TOKEN"}


def test_override_replaces_names_ports_health_and_database() -> None:
    spec = web("production")
    assert spec.remote_name == "demo-web-prod"
    assert spec.start == "gunicorn app:app"
    assert spec.port == 8080
    assert spec.health_path == "/up"
    assert spec.health_timeout == 120
    assert spec.database == "sqlite"
    assert spec.replicas == 3


def test_without_an_override_the_service_values_apply() -> None:
    spec = web("local")
    assert spec.remote_name == "web"
    assert spec.start == "python3 app.py"
    assert spec.port == 8000
    assert spec.health_path == "/health"
    assert spec.health_timeout == 30
    assert spec.database == "postgres"
    assert spec.replicas == 1


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (3, "3"), (0.5, "0.5"), ("yes", "yes")],
)
def test_env_values_rendered_as_the_process_sees_them(value: object, text: str) -> None:
    assert env_text(value) == text  # type: ignore[arg-type]


def test_booleans_reach_the_environment_as_lowercase_words() -> None:
    assert web("local").env["DEBUG"] == "true"
    assert web("production").env["DEBUG"] == "false"


def test_spec_env_is_read_only() -> None:
    spec = web("local")
    with pytest.raises(TypeError):
        spec.env["NEW"] = "x"  # type: ignore[index]


def test_fingerprint_is_stable_and_changes_with_env_and_settings() -> None:
    first = web("production")
    assert first.fingerprint() == web("production").fingerprint()
    changed_env = BASE.replace('LEVEL = "service"', 'LEVEL = "changed"')
    assert web("production", changed_env).fingerprint() != first.fingerprint()
    changed_port = BASE.replace("port = 8080", "port = 8081")
    assert web("production", changed_port).fingerprint() != first.fingerprint()
    assert web("local").fingerprint() != first.fingerprint()


def test_environment_carries_provider_block_and_project() -> None:
    env = resolve_environment(loaded(), "production")
    assert env.provider == "fly"
    assert env.project == "demo"
    assert env.block is not None
    assert getattr(env.block, "app", None) == "demo-web"
    assert list(env.services) == ["web", "worker"]


def test_previous_in_pipeline_follows_file_order_without_a_pipeline() -> None:
    config = loaded()
    assert previous_in_pipeline(config, "production") == "local"
    assert previous_in_pipeline(config, "local") is None
    assert previous_in_pipeline(config, "nowhere") is None
