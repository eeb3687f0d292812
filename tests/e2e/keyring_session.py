"""A private D-Bus session with gnome-keyring, so the installed CLI can use a real Secret Service.

    with KeyringSession(tmp_dir) as session:
        run_shipit("env", "set", "X", "-", cwd=project, env=session.env(), input="v")

The daemon keeps its keyring files under ``<tmp_dir>/keyring-home`` (never the test's HOME), and
everything it started is stopped on exit. ``unlock=False`` starts it with no unlocked collection,
which is what a locked desktop keyring looks like to shipit (no prompt can be shown).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path
from types import TracebackType

import pytest

PASSWORD = "test-keyring-password"
TOOLS = ("dbus-run-session", "gnome-keyring-daemon")


def require_tools() -> None:
    """Skip the calling test when dbus-run-session or gnome-keyring-daemon is missing."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"needs {' and '.join(missing)} for a real Secret Service keyring "
            "(apt install dbus gnome-keyring)"
        )


class KeyringSession:
    """``dbus-run-session`` with ``gnome-keyring-daemon`` (secrets component) in its own folder."""

    def __init__(self, root: Path, *, unlock: bool = True) -> None:
        self.home = root / "keyring-home"
        self.unlock = unlock
        self.address = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> KeyringSession:
        require_tools()
        runtime = self.home / "run"
        runtime.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_RUNTIME_DIR": str(runtime),
        }
        start = (
            f"printf %s {PASSWORD} | gnome-keyring-daemon --unlock --components=secrets"
            if self.unlock
            else "gnome-keyring-daemon --start --components=secrets"
        )
        script = f'{start} >/dev/null 2>&1; echo "$DBUS_SESSION_BUS_ADDRESS"; exec sleep 600'
        self._process = subprocess.Popen(
            ["dbus-run-session", "--", "sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
            start_new_session=True,
        )
        assert self._process.stdout is not None
        self.address = self._process.stdout.readline().strip()
        if not self.address:
            self.__exit__(None, None, None)
            pytest.skip("dbus-run-session did not start a session bus here")
        return self

    def env(self, **extra: str) -> dict[str, str]:
        """Variables that point a shipit subprocess at this keyring (and no other)."""
        return {
            "DBUS_SESSION_BUS_ADDRESS": self.address,
            "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
            **extra,
        }

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        process = self._process
        if process is None:
            return
        self._process = None
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
