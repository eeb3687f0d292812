"""What every command shares: the output, the loaded config, and error reporting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipit.cli import options
from shipit.errors import DeployFailedError, ShipitError
from shipit.ui import Output

if TYPE_CHECKING:
    from shipit.config import LoadedConfig

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
    if output.json_mode:
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
