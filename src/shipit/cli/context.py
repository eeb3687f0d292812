"""What every command shares: the output, the loaded config, the target environment, errors."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shipit.cli import options
from shipit.errors import DeployFailedError, ShipitError
from shipit.ui import Output

if TYPE_CHECKING:
    from shipit.config import Environment, LoadedConfig
    from shipit.config.overlay import ServiceSpec
    from shipit.providers.base import Provider
    from shipit.sensitive import Secret
    from shipit.ui import ConsoleReporter

output: Output = Output()


def load() -> LoadedConfig:
    """The config named by -c/--config, or found upward from the working directory."""
    from shipit.config import load_config

    return load_config(options.current.config)


def report_error(error: ShipitError) -> None:
    """Print an error on stderr (and as the JSON document with --json)."""
    if isinstance(error, DeployFailedError) and error.log_tail:
        output.info("last log lines:")
        for line in error.log_tail:
            output.info(f"  {line}")
    output.error(str(error), error.hint)
    if output.json_mode and not output.emitted:  # a result document already says ok: false
        output.emit_json(
            {
                "ok": False,
                "error": {
                    "type": type(error).__name__,
                    "message": str(error),
                    "hint": error.hint,
                    "exit_code": error.exit_code,
                },
            }
        )
    from shipit import ci

    ci.annotate_error(error)


def environment(loaded: LoadedConfig, name: str) -> Environment:
    """The resolved environment ``name`` of the loaded config."""
    from shipit.config.overlay import resolve_environment

    return resolve_environment(loaded, name)


def provider_for(env: Environment) -> Provider:
    """An adapter for ``env`` with its credentials (an AuthError names the fix if none)."""
    from shipit.core.session import open_provider

    return open_provider(env, verbose=options.current.verbose)


def services_and_secrets(
    env: Environment, service: Sequence[str] | None, secrets: str
) -> tuple[list[ServiceSpec], dict[str, Secret]]:
    """The services ``-s/--service`` picks in ``env`` and the secret values they need."""
    from shipit.core.engine import select_services
    from shipit.secrets import checked_source, resolve_secrets

    services = select_services(env, service)
    values = resolve_secrets(
        env, source=checked_source(secrets), services=[s.name for s in services]
    )
    return services, values


@dataclass(frozen=True)
class Target:
    """An environment ready to act on: the chosen services, their secrets and an open adapter."""

    env: Environment
    services: list[ServiceSpec]
    values: dict[str, Secret]
    provider: Provider


@contextmanager
def open_target(env_name: str, service: Sequence[str] | None, secrets: str) -> Iterator[Target]:
    """Environment ``env_name`` with its services and secrets; its provider is closed after.

    Secrets are resolved before the provider opens, so a missing one fails before any call.
    """
    env = environment(load(), env_name)
    services, values = services_and_secrets(env, service, secrets)
    provider = provider_for(env)
    try:
        yield Target(env, services, values, provider)
    finally:
        provider.close()


def reporter() -> ConsoleReporter:
    """The progress reporter for engine operations (stderr)."""
    from shipit.ui import ConsoleReporter

    return ConsoleReporter(output)


def default_environment(loaded: LoadedConfig) -> str:
    """The environment commands use when none is given: ``local`` if defined, else the first."""
    envs = loaded.config.pipeline() or list(loaded.config.environments)
    if "local" in loaded.config.environments:
        return "local"
    if not envs:
        from shipit.errors import ConfigError

        raise ConfigError("no environments defined", hint="add an [environments.local] table")
    return envs[0]
