"""shipit.example.toml is the config reference: it must load and mention every key."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from shipit.config import load_config, resolve_environment
from shipit.config.models import ShipitConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "shipit.example.toml"


def model_keys(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    """(dotted path, key) for every field of ``model`` and of the models it contains."""
    keys: list[tuple[str, str]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        keys.append((path, name))
        for inner in nested_models(field.annotation):
            keys.extend(model_keys(inner, f"{path}.<{inner.__name__}>."))
    return keys


def nested_models(annotation: object) -> list[type[BaseModel]]:
    """Models found inside a field's type: ``X``, ``X | None``, ``dict[str, X]``, ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return nested_models(typing.get_args(annotation)[0])
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found.extend(nested_models(arg))
    return found


def written(key: str, text: str) -> bool:
    """True if ``key`` is written as a key (``key =``) or a table name (``[a.key]``)."""
    as_key = rf"(^|[\s{{,#]){re.escape(key)}\s*="
    as_table = rf"\[(?:[^\]\n]*\.)?{re.escape(key)}[.\]]"
    return bool(re.search(as_key, text, re.MULTILINE) or re.search(as_table, text))


ALL_KEYS = model_keys(ShipitConfig)


def test_the_walk_reaches_every_model() -> None:
    paths = {path for path, _ in ALL_KEYS}
    assert "services.<ServiceConfig>.build.<BuildConfig>.target" in paths
    assert "environments.<EnvironmentConfig>.services.<ServiceOverride>.replicas" in paths
    assert "environments.<EnvironmentConfig>.render.<RenderBlock>.name_prefix" in paths
    assert len(ALL_KEYS) >= 45


@pytest.mark.parametrize(("path", "key"), ALL_KEYS, ids=[path for path, _ in ALL_KEYS])
def test_every_config_key_is_documented(path: str, key: str) -> None:
    assert written(key, EXAMPLE.read_text(encoding="utf-8")), f"{path} is not in {EXAMPLE.name}"


def test_the_check_spots_a_missing_key() -> None:
    assert not written("name_prefix", "# prefix of names\nregion = 1\n")
    assert written("name_prefix", '# name_prefix = "x"\n')
    assert written("build", "[services.web.build]\n")
    assert written("services", "# [environments.x.services.web]\n")
    assert not written("env", "[environments.x]\n")
    assert written("fly", 'fly = { app = "x" }\n')


def test_example_loads_and_every_environment_resolves() -> None:
    loaded = load_config(EXAMPLE)
    for name in loaded.config.environments:
        environment = resolve_environment(loaded, name)
        assert set(environment.services) == {"web"}
    assert loaded.config.pipeline() == list(loaded.config.environments)
