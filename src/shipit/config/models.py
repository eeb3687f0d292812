"""The shape of shipit.toml, as pydantic models that reject unknown keys."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Strict(BaseModel):
    """Base: unknown keys are errors, models are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


EnvValue = str | int | float | bool


class LocatedValueError(ValueError):
    """A validation error about a key below the validated one; ``at`` extends its key path.

    The loader appends ``at`` to the error's location, so the message names (and points at the
    line of) the offending key rather than the table that holds it.
    """

    def __init__(self, message: str, *at: str | int) -> None:
        super().__init__(message)
        self.at = at


def _check_env_names(env: dict[str, EnvValue]) -> dict[str, EnvValue]:
    for key in env:
        if not ENV_NAME.match(key):
            raise LocatedValueError(f"{key!r} is not a valid environment variable name", key)
    return env


def _check_health_path(path: str | None) -> str | None:
    if path is not None and not path.startswith("/"):
        raise ValueError("must start with '/'")
    return path


class ProjectConfig(Strict):
    """``[project]``: the project's name and the order environments are promoted in."""

    name: Annotated[str, Field(pattern=NAME.pattern)]
    pipeline: list[str] = Field(default_factory=list)


class BuildConfig(Strict):
    """``[services.<name>.build]``: build an OCI image from a Dockerfile."""

    dockerfile: str = "Dockerfile"
    context: str = "."
    args: dict[str, str] = Field(default_factory=dict)
    target: str | None = None


Database = Literal["postgres", "sqlite"]


class ServiceConfig(Strict):
    """``[services.<name>]``: one deployable process."""

    source: str = "."
    build_command: str | None = None
    start: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    health_path: str | None = "/health"
    health_timeout: Annotated[float, Field(gt=0, le=3600)] = 60.0
    env: dict[str, EnvValue] = Field(default_factory=dict)
    secrets: list[str] = Field(default_factory=list)
    database: Database | None = None
    image: str | None = None
    build: BuildConfig | None = None

    _env_names = field_validator("env")(_check_env_names)

    _health = field_validator("health_path")(_check_health_path)

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, names: list[str]) -> list[str]:
        seen: set[str] = set()
        for index, name in enumerate(names):
            if not ENV_NAME.match(name):
                raise LocatedValueError(f"{name!r} is not a valid environment variable name", index)
            if name in seen:
                raise LocatedValueError(f"{name!r} is listed twice", index)
            seen.add(name)
        return names

    @model_validator(mode="after")
    def _runnable(self) -> ServiceConfig:
        for name in self.secrets:
            if name in self.env:
                raise LocatedValueError(
                    f"{name!r} is listed in `secrets`, so it cannot have a plain value here",
                    "env",
                    name,
                )
        if self.build is not None and not self.image:
            raise LocatedValueError(
                "a service with a build table needs `image`, the repository to push to", "build"
            )
        if self.start is None and self.build is None and self.image is None:
            raise ValueError("set `start`, a `build` table or a prebuilt `image`")
        return self


class ServiceOverride(Strict):
    """``[environments.<env>.services.<name>]``: what one environment changes for a service."""

    name: str | None = None
    start: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    health_path: str | None = None
    health_timeout: Annotated[float, Field(gt=0, le=3600)] | None = None
    env: dict[str, EnvValue] = Field(default_factory=dict)
    database: Database | None = None
    replicas: Annotated[int, Field(ge=1, le=100)] | None = None

    _env_names = field_validator("env")(_check_env_names)
    _health = field_validator("health_path")(_check_health_path)


class LocalBlock(Strict):
    """``[environments.<env>.local]``: where the local provider serves."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1024, le=65000)] = 8100


class RailwayBlock(Strict):
    """``[environments.<env>.railway]``: the Railway project and environment."""

    project: str
    environment: str | None = None
    workspace: str | None = None


class RenderBlock(Strict):
    """``[environments.<env>.render]``: the Render workspace and service settings."""

    owner: str
    region: Literal["oregon", "frankfurt", "ohio", "singapore", "virginia"] = "oregon"
    plan: str = "starter"
    name_prefix: str | None = None


class FlyBlock(Strict):
    """``[environments.<env>.fly]``: the Fly.io app, organisation and region."""

    app: Annotated[str, Field(pattern=NAME.pattern)]
    org: str = "personal"
    region: str = "iad"
    vm_size: str = "shared-cpu-1x"
    memory_mb: Annotated[int, Field(ge=256)] = 256


ProviderName = str
BUILTIN_BLOCKS: dict[str, type[Strict]] = {
    "local": LocalBlock,
    "railway": RailwayBlock,
    "render": RenderBlock,
    "fly": FlyBlock,
}


class EnvironmentConfig(Strict):
    """``[environments.<env>]``: a named target bound to one provider."""

    provider: str = "local"
    env: dict[str, EnvValue] = Field(default_factory=dict)
    services: dict[str, ServiceOverride] = Field(default_factory=dict)
    local: LocalBlock | None = None
    railway: RailwayBlock | None = None
    render: RenderBlock | None = None
    fly: FlyBlock | None = None
    options: dict[str, EnvValue] = Field(default_factory=dict)

    _env_names = field_validator("env")(_check_env_names)

    @model_validator(mode="after")
    def _provider_block(self) -> EnvironmentConfig:
        if self.provider in BUILTIN_BLOCKS:
            for other in BUILTIN_BLOCKS:
                if other != self.provider and getattr(self, other) is not None:
                    raise LocatedValueError(
                        f"a [{other}] block, but provider is {self.provider!r}", other
                    )
            if self.provider != "local" and getattr(self, self.provider) is None:
                raise LocatedValueError(
                    f"provider {self.provider!r} needs a [{self.provider}] block", "provider"
                )
        return self

    def block(self) -> Strict | None:
        """The provider block of this environment (a default one for ``local``)."""
        if self.provider == "local":
            return self.local or LocalBlock()
        if self.provider in BUILTIN_BLOCKS:
            block: Strict | None = getattr(self, self.provider)
            return block
        return None


class ShipitConfig(Strict):
    """The whole of shipit.toml."""

    project: ProjectConfig
    services: dict[str, ServiceConfig]
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)

    @field_validator("services")
    @classmethod
    def _service_names(cls, services: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
        if not services:
            raise ValueError("define at least one service")
        for name in services:
            if not NAME.match(name):
                raise LocatedValueError(
                    f"{name!r} is not a valid service name (a-z, 0-9, - and _)", name
                )
        return services

    @field_validator("environments")
    @classmethod
    def _env_names(cls, envs: dict[str, EnvironmentConfig]) -> dict[str, EnvironmentConfig]:
        for name in envs:
            if not NAME.match(name):
                raise LocatedValueError(
                    f"{name!r} is not a valid environment name (a-z, 0-9, - and _)", name
                )
        return envs

    def pipeline(self) -> list[str]:
        """Environments in promotion order: ``project.pipeline``, else file order."""
        return list(self.project.pipeline or self.environments)
