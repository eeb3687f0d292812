"""What every command shares: the output, the loaded config, and error reporting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipit.cli import options
from shipit.errors import DeployFailedError, ShipitError
from shipit.ui import Output

if TYPE_CHECKING:
    from shipit.config import Environment, LoadedConfig
    from shipit.providers.base import Provider
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
