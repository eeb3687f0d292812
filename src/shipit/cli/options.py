"""Global options (--json, -c/--config, --yes, --verbose) accepted before or after the command.

``shipit deploy local --json`` and ``shipit --json deploy local`` mean the same: :func:`extract`
lifts the global options out of argv before typer parses the rest.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

_FLAGS = {"--json": "json", "--yes": "yes", "-y": "yes", "--verbose": "verbose", "-v": "verbose"}
_VALUED = {"-c": "config", "--config": "config"}


@dataclass
class GlobalOptions:
    """Options every command honours."""

    json: bool = False
    yes: bool = False
    verbose: bool = False
    config: Path | None = None

    @property
    def interactive(self) -> bool:
        """True when shipit may prompt: a TTY on stdin and stderr, and not in CI."""
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            return False
        return sys.stdin.isatty() and sys.stderr.isatty()


current = GlobalOptions()


def extract(argv: list[str]) -> tuple[GlobalOptions, list[str]]:
    """Split argv into the global options and the rest (nothing after ``--`` is touched)."""
    options = GlobalOptions()
    rest: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            rest.extend(argv[index:])
            break
        if arg in _FLAGS:
            setattr(options, _FLAGS[arg], True)
        elif arg in _VALUED:
            if index + 1 >= len(argv):
                rest.append(arg)  # let the parser report the missing value
            else:
                options.config = Path(argv[index + 1])
                index += 1
        elif arg.startswith("--config="):
            options.config = Path(arg.split("=", 1)[1])
        elif arg.startswith("-c") and len(arg) > 2 and not arg.startswith("--"):
            options.config = Path(arg[2:])
        else:
            rest.append(arg)
        index += 1
    return options, rest
