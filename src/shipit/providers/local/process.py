"""Starting a release's runner in the background, telling whether it runs, and stopping it.

Each runner leads its own process group (pgid = its pid), and the release's command runs in that
group, so stopping a release signals the whole group: the runner, the shell and the app.
Liveness is read from ``/proc`` where it exists, so that a zombie counts as dead and a recycled
pid is not mistaken for the runner (its command line must carry the deployment id).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from shipit.errors import DeployFailedError

RUNNER_MODULE = "shipit.providers.local.runner"
PROC = Path("/proc")
STOP_TIMEOUT = 10.0
_SPAWN_TIMEOUT = 30.0


def spawn(
    *,
    command: str,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    run_file: Path,
    deployment: str,
) -> int:
    """Start the runner detached from this process; returns its pid (also its process group)."""
    args = [
        sys.executable,
        "-m",
        RUNNER_MODULE,
        "--detach",
        "--id",
        deployment,
        "--cwd",
        str(cwd),
        "--log",
        str(log),
        "--run-file",
        str(run_file),
        "--command",
        command,
    ]
    with subprocess.Popen(
        args,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    ) as starter:
        assert starter.stdout is not None
        assert starter.stderr is not None
        reported = starter.stdout.readline().decode().strip()
        try:
            code = starter.wait(timeout=_SPAWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            starter.kill()
            code = starter.wait()
        errors = "" if reported else starter.stderr.read().decode(errors="replace")
    if not reported.isdigit():
        raise DeployFailedError(
            f"could not start the release runner (exit {code})",
            log_tail=errors.splitlines()[-20:],
            hint="check that shipit is installed for the Python that runs it",
        )
    return int(reported)


def _stat(pid: int) -> tuple[str, int] | None:
    """The state letter and process group of ``pid`` from /proc, None when it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[2])


def _signal_ok(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_running(pid: int, marker: str | None = None) -> bool:
    """Whether ``pid`` is a live (not zombie) process whose command line contains ``marker``."""
    if not PROC.is_dir():
        return _signal_ok(pid)
    stat = _stat(pid)
    if stat is None or stat[0] in "ZXx":
        return False
    if marker is None:
        return True
    try:
        cmdline = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False
    return marker.encode() in cmdline


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``, from /proc (none without)."""
    members: list[int] = []
    if not PROC.is_dir():
        return members
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = _stat(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
        if stat is not None and stat[1] == pgid and stat[0] not in "ZXx":
            members.append(int(entry.name))
    return members


def owns_group(pgid: int, marker: str, identity: Mapping[str, str]) -> bool:
    """Whether process group ``pgid`` is still the one shipit started (its pid may be reused).

    True when its runner is alive with ``marker`` on its command line, or when a member's
    environment holds every ``identity`` variable (an app left behind by a runner that died).
    """
    if is_running(pgid, marker):
        return True
    wanted = [f"{name}={value}".encode() for name, value in identity.items()]
    for pid in group_members(pgid):
        try:
            environ = (PROC / str(pid) / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(item in environ for item in wanted):
            return True
    return False


def group_alive(pgid: int) -> bool:
    """Whether any live process remains in process group ``pgid``."""
    if PROC.is_dir():
        return bool(group_members(pgid))
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def stop_group(pgid: int, *, timeout: float = STOP_TIMEOUT) -> bool:
    """SIGTERM the group, wait up to ``timeout`` s, then SIGKILL; True when it had to kill."""
    if not group_alive(pgid):
        return False
    signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    delay = 0.02
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    signal_group(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return True


def environ_of(pid: int) -> dict[str, str] | None:
    """The environment ``pid`` was started with (Linux ``/proc``); None when unreadable."""
    try:
        raw = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return None
    values: dict[str, str] = {}
    for item in raw.split(b"\0"):
        name, sep, value = item.partition(b"=")
        if sep and name:
            values[name.decode(errors="replace")] = value.decode(errors="replace")
    return values
