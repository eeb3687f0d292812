"""Everything shipit shows: rich on a TTY, plain text otherwise, one JSON document with --json.

Results go to stdout; progress, warnings and errors to stderr. Every string passes through
:func:`shipit.sensitive.redact` on its way out, so a secret value that slipped into a message
is still masked.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from shipit.sensitive import Secret, redact

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


def _plain_wanted(stream: TextIO) -> bool:
    """Plain text: NO_COLOR, CI=true, or ``stream`` is not a terminal."""
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    return bool(os.environ.get("NO_COLOR")) or in_ci or not stream.isatty()


def to_jsonable(value: Any) -> Any:
    """Dataclasses, paths, datetimes and Secrets as JSON values (Secrets masked)."""
    if isinstance(value, Secret):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


class Output:
    """The one place that writes to stdout and stderr."""

    def __init__(self, *, json_mode: bool = False, verbose: bool = False) -> None:
        self.json_mode = json_mode
        self.verbose = verbose
        self.emitted = False  # a JSON document is on stdout already (--json prints exactly one)
        self._lock = threading.Lock()
        self._err: Console | None = None
        self._out: Console | None = None

    @property
    def plain(self) -> bool:
        """True when stderr gets plain lines (no TTY, NO_COLOR or CI)."""
        return _plain_wanted(sys.stderr) or os.environ.get("CI", "").lower() in {"1", "true"}

    def err_console(self) -> Console:
        """A rich console on stderr."""
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, no_color=_plain_wanted(sys.stderr), highlight=False)
        return self._err

    def out_console(self) -> Console:
        """A rich console on stdout."""
        if self._out is None:
            from rich.console import Console

            self._out = Console(no_color=_plain_wanted(sys.stdout), highlight=False, soft_wrap=True)
        return self._out

    # stdout -------------------------------------------------------------------------------
    def emit_json(self, document: Any) -> None:
        """Print exactly one JSON document on stdout."""
        text = json.dumps(to_jsonable(document), indent=2, sort_keys=False)
        self.emitted = True
        with self._lock:
            sys.stdout.write(redact(text) + "\n")
            sys.stdout.flush()

    def emit_json_line(self, document: Any) -> None:
        """One JSON line on stdout (``logs --json``)."""
        with self._lock:
            sys.stdout.write(redact(json.dumps(to_jsonable(document))) + "\n")
            sys.stdout.flush()

    def echo(self, text: str = "") -> None:
        """A line of result text on stdout."""
        with self._lock:
            sys.stdout.write(redact(text) + "\n")
            sys.stdout.flush()

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str = "") -> None:
        """A table on stdout: rich on a TTY, tab-separated otherwise."""
        if _plain_wanted(sys.stdout):
            if title:
                self.echo(title)
            self.echo("\t".join(columns))
            for row in rows:
                self.echo("\t".join("" if c is None else str(c) for c in row))
            return
        from rich.table import Table

        table = Table(title=title or None, show_edge=False, header_style="bold")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(redact("" if c is None else str(c)) for c in row))
        with self._lock:
            self.out_console().print(table)

    # stderr -------------------------------------------------------------------------------
    def info(self, text: str) -> None:
        """Progress on stderr."""
        self._err_line(text)

    def warn(self, text: str) -> None:
        """A warning on stderr."""
        self._err_line(f"warning: {text}", style="yellow")

    def error(self, text: str, hint: str | None = None) -> None:
        """An error (and its fix) on stderr."""
        self._err_line(f"error: {text}", style="bold red")
        if hint:
            self._err_line(f"hint: {hint}", style="dim")

    def debug(self, text: str) -> None:
        """Shown only with --verbose."""
        if self.verbose:
            self._err_line(text, style="dim")

    def _err_line(self, text: str, style: str | None = None) -> None:
        text = redact(text)
        with self._lock:
            if self.plain:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
            else:
                from rich.markup import escape

                self.err_console().print(f"[{style}]{escape(text)}[/]" if style else escape(text))


class ConsoleReporter:
    """Shows engine progress on stderr.

    On a TTY (no ``NO_COLOR``, not CI) each service gets a live spinner line showing its current
    step, and finished steps scroll above it; otherwise every step is one plain line. Use it as a
    context manager so the live display is stopped, whatever happens.
    """

    _SYMBOLS = {"start": "...", "done": "ok", "fail": "FAILED", "skip": "skipped", "warn": "!"}

    def __init__(self, output: Output) -> None:
        self.output = output
        self._started = time.monotonic()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> ConsoleReporter:
        if not self.output.plain and not self.output.json_mode:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self.output.err_console(),
                transient=True,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def step(self, service: str, step: str, state: str, detail: str = "") -> None:
        """A step of one service changed state (start, done, fail, skip)."""
        if self.output.json_mode and state == "start" and not self.output.verbose:
            return
        elapsed = time.monotonic() - self._started
        symbol = self._SYMBOLS.get(state, state)
        text = f"{service}: {step} {symbol}"
        if detail:
            text += f" ({detail})"
        if self._progress is not None:
            self._live(service, step, state, detail, text)
            return
        line = f"[{elapsed:6.1f}s] {text}"
        style = {"fail": "red", "done": "green"}.get(state)
        self.output._err_line(line, style=style)

    def _live(self, service: str, step: str, state: str, detail: str, text: str) -> None:
        from rich.markup import escape

        assert self._progress is not None
        with self._lock:
            task = self._tasks.get(service)
            if task is None:
                task = self._progress.add_task(service, total=None)
                self._tasks[service] = task
            if state == "start":
                label = f"{service}: {step}" + (f" ({detail})" if detail else "")
                self._progress.update(task, description=escape(redact(label)))
                return
            style = {"fail": "red", "done": "green"}.get(state, "")
            mark = {"done": "[green]✓[/]", "fail": "[red]✗[/]"}.get(state, "-")
            line = escape(redact(text))
            self._progress.console.print(
                f"{mark} [{style}]{line}[/]" if style else f"{mark} {line}"
            )
            if state == "fail" or (state == "done" and step == "health"):
                self._progress.remove_task(task)
                del self._tasks[service]

    def warn(self, message: str) -> None:
        """A warning from the engine."""
        self.output.warn(message)

    def detail(self, service: str, line: str) -> None:
        """Builder or provider output: shown with --verbose."""
        self.output.debug(f"  {service} | {line}")
