"""Helpers shared by the end-to-end tests: run the CLI or a fake, find free ports and leftovers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    """A finished CLI run."""

    args: list[str]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """stdout parsed as the one JSON document."""
        return json.loads(self.stdout)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        command = " ".join(self.args)
        return (
            f"shipit {command} -> {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


def shipit_executable() -> str:
    """The installed console script."""
    found = shutil.which("shipit")
    assert found, "shipit is not installed (pip install -e '.[test]')"
    return found


def run_shipit(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> Run:
    """Run the installed ``shipit`` as a subprocess with no TTY."""
    full_env = dict(os.environ)
    full_env.pop("SHIPIT_DEBUG", None)
    if env:
        full_env.update(env)
    done = subprocess.run(
        [shipit_executable(), *args],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    return Run(list(args), done.returncode, done.stdout, done.stderr)


@contextmanager
def run_standalone_fake(module: str, token: str) -> Iterator[str]:
    """``python -m <module>`` (a fake provider) on a free port; its URL; stopped on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", "--token", token],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("READY "), line
        yield line.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(size: int = 2) -> int:
    """A base port such that ``base .. base+size-1`` are all free right now."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size < 65000 and all(_is_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no free block of ports")


def runner_pids(marker: str) -> list[int]:
    """Local-provider runner processes whose command line mentions ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "shipit.providers.local.runner" in cmdline and marker in cmdline:
            found.append(int(entry.name))
    return found


def kill_process_groups(pids: list[int]) -> None:
    """SIGKILL the process group each of ``pids`` leads (one already gone is fine)."""
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
