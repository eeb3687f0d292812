"""Find, read and validate shipit.toml; every error names FILE:LINE: key.path."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shipit.config.locate import locate
from shipit.config.models import NAME, LocatedValueError, ShipitConfig
from shipit.errors import ConfigError

CONFIG_NAME = "shipit.toml"
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_TOML_AT_END = "(at end of document)"
_ENV_VALUE_TAGS = frozenset({"str", "int", "float", "bool"})


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config with the file it came from and that file's text."""

    path: Path
    text: str
    config: ShipitConfig

    @property
    def root(self) -> Path:
        """The project directory: the folder that holds the config file."""
        return self.path.parent

    def line_of(self, *key: str | int) -> int | None:
        """The line a key path is written on, for error messages."""
        return locate(self.text, key)

    def error(
        self, key: Sequence[str | int], message: str, *, hint: str | None = None
    ) -> ConfigError:
        """A ConfigError located at ``key`` in this file."""
        return ConfigError(
            message,
            file=display_path(self.path),
            line=self.line_of(*key),
            key=".".join(str(k) for k in key),
            hint=hint,
        )


def display_path(path: Path) -> str:
    """A path relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def find_config(start: Path | None = None) -> Path:
    """The nearest shipit.toml in ``start`` or one of its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_NAME} in {display_path(here)} or any parent folder",
        hint="run `shipit init` to write one, or pass -c/--config FILE",
    )


def load_config(path: Path | None = None) -> LoadedConfig:
    """Read and validate the config at ``path`` (or found upward from the working directory)."""
    file = path if path is not None else find_config()
    shown = display_path(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{shown}: no such file", hint="check -c/--config") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read: {exc}") from None
    return parse_config(text, file)


def parse_config(text: str, file: Path) -> LoadedConfig:
    """Validate ``text`` as the content of ``file``."""
    shown = display_path(file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        line = int(position.group(1)) if position else None
        column = int(position.group(2)) if position else None
        if _TOML_AT_END in message:
            line = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
        detail = _TOML_POSITION.sub("", message).replace(_TOML_AT_END, "").strip()
        raise ConfigError(
            f"TOML syntax error: {detail}", file=shown, line=line, column=column
        ) from None
    try:
        config = ShipitConfig.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, text, shown) from None
    loaded = LoadedConfig(path=file.resolve(), text=text, config=config)
    _check_references(loaded)
    return loaded


def _first_error(exc: ValidationError, text: str, shown: str) -> ConfigError:
    error = exc.errors(include_url=False)[0]
    loc: tuple[Any, ...] = tuple(error["loc"])
    kind = error["type"]
    message = error["msg"]
    key_path = [part for part in loc if not _is_union_tag(part)]
    env_value = any(part in _ENV_VALUE_TAGS for part in loc if isinstance(part, str))
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, LocatedValueError):
        key_path.extend(cause.at)
    if kind == "extra_forbidden":
        message = f"unknown key {str(loc[-1])!r}"
    elif kind == "missing":
        message = f"required key {str(loc[-1])!r} is missing"
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    elif kind == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == NAME.pattern:
        message = f"{error['input']!r} is not a valid name (a-z, 0-9, - and _)"
    elif env_value and kind.endswith("_type"):
        message = f"must be a string, number or boolean, not {_toml_type(error['input'])}"
    line = locate(text, key_path)
    if kind == "missing":
        key_path = key_path[:-1]
        line = locate(text, key_path) if key_path else None
    return ConfigError(
        message,
        file=shown,
        line=line,
        key=".".join(str(part) for part in key_path) or None,
    )


def _toml_type(value: Any) -> str:
    """The TOML name of a parsed value's type, for messages."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"  # datetime, date, time


def _is_union_tag(part: Any) -> bool:
    """Pydantic puts the chosen union member's type name into error locations."""
    return isinstance(part, str) and (
        part in _ENV_VALUE_TAGS or part.startswith(("function-", "constrained-"))
    )


def _check_references(loaded: LoadedConfig) -> None:
    config = loaded.config
    for env_name, env in config.environments.items():
        for service in env.services:
            if service not in config.services:
                raise loaded.error(
                    ("environments", env_name, "services", service),
                    f"no service {service!r} (defined: {', '.join(config.services)})",
                )
    for index, name in enumerate(config.project.pipeline):
        if name not in config.environments:
            raise loaded.error(
                ("project", "pipeline", index),
                f"no environment {name!r} (defined: {', '.join(config.environments) or 'none'})",
            )
    if len(set(config.project.pipeline)) != len(config.project.pipeline):
        raise loaded.error(("project", "pipeline"), "an environment is listed twice")
