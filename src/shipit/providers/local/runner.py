"""The process that runs one release: starts its command, timestamps its output, relays signals.

Started by the local provider as ``python -m shipit.providers.local.runner --detach ...`` with the
release's environment. With ``--detach`` it forks, the child starts a session of its own (so it
leads its own process group and outlives the CLI) and reports its pid on stdout; the parent exits
at once, so the CLI is left with no child to wait for. The runner then starts ``/bin/sh -c COMMAND``
in the bundle folder (as ``exec COMMAND`` when it is a simple command, so the app itself is the
child), writes every stdout/stderr line to the log file with a timestamp and the stream name, and
relays SIGTERM/SIGINT/SIGHUP to the rest of its process group (with shell syntax the app may be a
grandchild). When the command exits, whatever it left running in the group is stopped too, so a
finished release never holds its port. The exit code goes into the run file and is the runner's
own (128 + N when the command died of signal N).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import IO

from shipit.providers.local.logfile import LineWriter, now
from shipit.providers.local.process import group_members, signal_group
from shipit.providers.local.runfile import RunInfo

FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
SHELL = "/bin/sh"
LEFTOVER_GRACE = 5.0
# Characters that make a command more than "program and arguments" for the shell.
_SHELL_SYNTAX = frozenset(";&|<>()$`\\\"'*?[]#~=%{}!\n")


# Words the shell runs itself (``exec cd`` would fail), and ``exec`` itself.
_BUILTINS = (
    "alias break case cd command continue eval exec exit export for getopts hash if read readonly "
    "return set shift source times trap type ulimit umask unalias unset until wait while ."
)
_SHELL_WORDS = frozenset(_BUILTINS.split())


def shell_command(command: str) -> str:
    """``command`` for ``sh -c``: prefixed with ``exec`` when it is a plain program call."""
    words = command.split()
    if words and words[0] not in _SHELL_WORDS and not _SHELL_SYNTAX.intersection(command):
        return f"exec {command.strip()}"
    return command


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="shipit.providers.local.runner")
    parser.add_argument("--id", required=True, help="the deployment id (marks the process)")
    parser.add_argument("--cwd", required=True, type=Path)
    parser.add_argument("--log", required=True, type=Path)
    parser.add_argument("--run-file", required=True, type=Path)
    parser.add_argument("--command", required=True)
    parser.add_argument("--detach", action="store_true")
    return parser.parse_args(argv)


def _detach() -> None:
    """Fork; the child leads a new session and reports its pid, the parent exits."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    sys.stdout.write(f"{os.getpid()}\n")
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1, 2):
        os.dup2(devnull, descriptor)
    os.close(devnull)


def _relay(signum: int) -> None:
    """Send ``signum`` to every other process of this runner's group (not to the runner)."""
    previous = signal.signal(signum, signal.SIG_IGN)
    try:
        signal_group(os.getpgrp(), signum)
    finally:
        signal.signal(signum, previous)


def _others() -> list[int]:
    return [pid for pid in group_members(os.getpgrp()) if pid != os.getpid()]


def _stop_leftovers(writer: LineWriter, *, signalled: bool) -> None:
    """SIGTERM what the command left running in the group; SIGKILL it after a grace period.

    When the runner was told to stop, the others got the signal already: they are only waited for.
    """
    if not _others():
        return
    if not signalled:
        writer.write("deploy", "stopping processes the command left running")
        _relay(signal.SIGTERM)
    deadline = time.monotonic() + LEFTOVER_GRACE
    while _others() and time.monotonic() < deadline:
        time.sleep(0.05)
    if _others():
        _relay(signal.SIGKILL)


def _pump(pipe: IO[bytes], stream: str, writer: LineWriter) -> None:
    for raw in pipe:
        writer.write(stream, raw.decode("utf-8", errors="replace").rstrip("\r\n"))
    pipe.close()


def run(command: str, *, cwd: Path, log: Path, run_file: Path) -> int:
    """Run ``command`` until it exits; return the runner's exit status."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = now().isoformat()
    child: subprocess.Popen[bytes] | None = None
    pending: list[int] = []
    received: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if child is None:
            pending.append(signum)
        else:
            _relay(signum)

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)

    with log.open("a", encoding="utf-8") as handle:
        writer = LineWriter(handle)
        writer.write("deploy", f"starting: {command}")
        try:
            child = subprocess.Popen(
                [SHELL, "-c", shell_command(command)],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            writer.write("deploy", f"could not start: {exc}")
            RunInfo(os.getpid(), None, started, 127, now().isoformat()).write(run_file)
            return 127
        RunInfo(os.getpid(), child.pid, started).write(run_file)
        for waiting in pending:
            _relay(waiting)
        assert child.stdout is not None
        assert child.stderr is not None
        pumps = [
            threading.Thread(target=_pump, args=(pipe, name, writer), daemon=True)
            for pipe, name in ((child.stdout, "stdout"), (child.stderr, "stderr"))
        ]
        for pump in pumps:
            pump.start()
        code = child.wait()
        _stop_leftovers(writer, signalled=bool(received))
        for pump in pumps:
            pump.join(timeout=2)
        if code < 0:
            writer.write("deploy", f"exited: killed by signal {-code}")
        else:
            writer.write("deploy", f"exited with code {code}")
    RunInfo(os.getpid(), child.pid, started, code, now().isoformat()).write(run_file)
    return code if code >= 0 else 128 - code


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m shipit.providers.local.runner``."""
    args = _arguments(argv)
    if args.detach:
        _detach()
    return run(args.command, cwd=args.cwd, log=args.log, run_file=args.run_file)


if __name__ == "__main__":
    sys.exit(main())
