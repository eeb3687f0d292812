"""The typer app, its command groups, and the one error boundary that maps errors to exit codes."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from shipit import __version__
from shipit.cli import options as global_options
from shipit.errors import ExitCode, ShipitError

app = typer.Typer(
    name="shipit",
    help="Deploy one application to Railway, Render, Fly.io or this machine from shipit.toml.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shipit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
    config: Annotated[
        str | None,
        typer.Option("-c", "--config", help="shipit.toml to use (default: found upward)."),
    ] = None,
    yes: Annotated[bool, typer.Option("-y", "--yes", help="Confirm destructive steps.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show more detail.")] = False,
) -> None:
    """Global options work before or after the command: `shipit deploy local --json`."""


def _register() -> None:
    from shipit.cli import commands

    commands.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``shipit`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    opts, rest = global_options.extract(args)
    global_options.current = opts
    from shipit.ui import Output

    output = Output(json_mode=opts.json, verbose=opts.verbose)
    code = run(rest, output)
    sys.exit(code)


def run(args: list[str], output: object) -> int:
    """Run the app on ``args`` inside the error boundary; returns the exit code."""
    from shipit.cli import context
    from shipit.ui import Output

    assert isinstance(output, Output)
    context.output = output
    try:
        _register()
        code = app(args, prog_name="shipit", standalone_mode=False)
        if isinstance(code, int):  # typer.Exit(n) is returned, not raised, in this mode
            return code
    except ShipitError as error:
        context.report_error(error)
        return error.exit_code
    except typer.Exit as done:
        return int(done.exit_code or 0)
    except (typer.Abort, KeyboardInterrupt):
        output.error("interrupted")
        return ExitCode.INTERRUPTED
    except Exception as error:  # the error boundary: no tracebacks unless SHIPIT_DEBUG=1
        if _is_parser_error(error):
            output.error(error.format_message(), hint="see `shipit --help`")  # type: ignore[attr-defined]
            return ExitCode.USAGE
        if os.environ.get("SHIPIT_DEBUG") == "1":
            raise
        context.report_error(
            ShipitError(
                f"unexpected error: {type(error).__name__}: {error}",
                hint="run again with SHIPIT_DEBUG=1 for a traceback, and report it",
            )
        )
        return ExitCode.UNEXPECTED
    return 0


def _is_parser_error(error: Exception) -> bool:
    """True for the command-line parser's usage errors (typer's bundled click or click)."""
    module = type(error).__module__
    return module.startswith(("typer", "click")) and hasattr(error, "format_message")
