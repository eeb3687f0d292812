"""One environment's view of the project: service defaults overlaid by the environment."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from shipit.config.loader import LoadedConfig
from shipit.config.models import BuildConfig, EnvValue, Strict
from shipit.errors import ConfigError


def env_text(value: EnvValue) -> str:
    """An env value as the process will see it (TOML booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class ServiceSpec:
    """A service as one environment deploys it; ``env`` holds plain values only.

    ``secrets`` are the names whose values come from the secret store (keyring, or the process
    environment in CI). A secret name that the environment gives a plain value in shipit.toml is
    moved from ``secrets`` to ``env`` (the example's ``local`` does this).
    """

    name: str
    remote_name: str
    source: Path
    start: str | None
    build_command: str | None
    port: int
    health_path: str | None
    health_timeout: float
    env: Mapping[str, str]
    secrets: tuple[str, ...]
    plain_secrets: tuple[str, ...]
    database: str | None
    image: str | None
    build: BuildConfig | None
    replicas: int = 1

    def fingerprint(self) -> str:
        """A short hash of the non-secret settings, recorded with each release."""
        data = {
            "start": self.start,
            "build_command": self.build_command,
            "port": self.port,
            "health_path": self.health_path,
            "env": dict(sorted(self.env.items())),
            "secrets": sorted(self.secrets),
            "database": self.database,
            "image": self.image,
        }
        digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        return digest[:12]


@dataclass(frozen=True)
class Environment:
    """A named target: its provider, that provider's settings block and its services."""

    name: str
    provider: str
    block: Strict | None
    options: Mapping[str, str]
    services: Mapping[str, ServiceSpec]
    root: Path
    project: str
    config_path: Path
    extra: Mapping[str, Any] = field(default_factory=dict)


def resolve_environment(loaded: LoadedConfig, name: str) -> Environment:
    """The frozen view of environment ``name``; a ConfigError if it is not defined."""
    config = loaded.config
    env = config.environments.get(name)
    if env is None:
        defined = ", ".join(config.environments) or "none"
        raise ConfigError(
            f"no environment {name!r} in {loaded.path.name} (defined: {defined})",
            hint="add an [environments.NAME] table or pick one of those",
        )
    services: dict[str, ServiceSpec] = {}
    for service_name, service in config.services.items():
        override = env.services.get(service_name)
        merged: dict[str, str] = {k: env_text(v) for k, v in service.env.items()}
        merged.update({k: env_text(v) for k, v in env.env.items()})
        if override is not None:
            merged.update({k: env_text(v) for k, v in override.env.items()})
        secret_names = tuple(s for s in service.secrets if s not in merged)
        plain_secrets = tuple(s for s in service.secrets if s in merged)
        for secret in secret_names:
            merged.pop(secret, None)
        services[service_name] = ServiceSpec(
            name=service_name,
            remote_name=(override.name if override and override.name else service_name),
            source=(loaded.root / service.source).resolve(),
            start=(override.start if override and override.start else service.start),
            build_command=service.build_command,
            port=(override.port if override and override.port else service.port),
            health_path=(
                override.health_path if override and override.health_path else service.health_path
            ),
            health_timeout=(
                override.health_timeout
                if override and override.health_timeout
                else service.health_timeout
            ),
            env=MappingProxyType(merged),
            secrets=secret_names,
            plain_secrets=plain_secrets,
            database=(override.database if override and override.database else service.database),
            image=service.image,
            build=service.build,
            replicas=(override.replicas if override and override.replicas else 1),
        )
    return Environment(
        name=name,
        provider=env.provider,
        block=env.block(),
        options=MappingProxyType({k: env_text(v) for k, v in env.options.items()}),
        services=MappingProxyType(services),
        root=loaded.root,
        project=config.project.name,
        config_path=loaded.path,
    )


def previous_in_pipeline(loaded: LoadedConfig, target: str) -> str | None:
    """The environment before ``target`` in the pipeline, the default source of a promote."""
    order = loaded.config.pipeline()
    if target not in order:
        return None
    index = order.index(target)
    return order[index - 1] if index > 0 else None
