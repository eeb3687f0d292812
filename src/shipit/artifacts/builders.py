"""Image builders: find docker, buildah or podman on PATH, and run their build and push commands.

Which builder: the ``builder`` argument (``--builder``), else ``SHIPIT_BUILDER``, else the first of
docker, buildah, podman found on PATH; docker counts only when its daemon answers.

buildah options: ``SHIPIT_BUILDAH_ARGS`` holds global options placed before every buildah command
(e.g. ``--storage-driver vfs --root /tmp/store --runroot /tmp/run``); ``SHIPIT_PODMAN_ARGS`` the
same for podman. When ``SHIPIT_BUILDAH_ARGS`` is unset and shipit runs as root inside a container
or in CI (where overlay mounts and user namespaces are usually unavailable), buildah gets
``--storage-driver vfs``, and ``--isolation chroot`` unless buildah's own ``BUILDAH_ISOLATION``
is set. Pushes to loopback registries use ``--tls-verify=false`` (buildah, podman; Docker treats
127.0.0.0/8 as insecure by itself). Credentials reach the builder only through a temporary auth
file, never its arguments.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipit.errors import UsageError

BUILDERS = ("docker", "buildah", "podman")
TAIL_LINES = 20
_DAEMON_TIMEOUT = 15.0
_INSTALL_HINT = (
    "install one: `apt-get install buildah` (no daemon needed) or `apt-get install podman`, "
    "or Docker (https://docs.docker.com/engine/install/); or choose one with --builder"
)


@dataclass(frozen=True)
class Builder:
    """One image builder and the options shipit passes to it."""

    name: str
    executable: str
    global_args: tuple[str, ...] = ()
    build_options: tuple[str, ...] = ()

    def build_command(
        self,
        *,
        dockerfile: Path,
        context: Path,
        image: str,
        args: Mapping[str, str],
        target: str | None,
    ) -> list[str]:
        """The command that builds ``context`` with ``dockerfile`` into the local ``image``."""
        command = [self.executable, *self.global_args, "build"]
        if self.name in {"buildah", "podman"}:
            command += ["--format", "docker"]
        command += [*self.build_options, "-f", str(dockerfile), "-t", image]
        if target:
            command += ["--target", target]
        for name, value in args.items():
            command += ["--build-arg", f"{name}={value}"]
        command.append(str(context))
        return command

    def push_command(self, image: str, *, auth_dir: Path | None, insecure: bool) -> list[str]:
        """The command that pushes the local ``image`` to its registry."""
        command = [self.executable, *self.global_args, "push"]
        if self.name == "docker":
            return [*command, image]
        if auth_dir is not None:
            command += ["--authfile", str(auth_dir / "config.json")]
        if insecure:
            command.append("--tls-verify=false")
        if self.name == "buildah":
            return [*command, image, f"docker://{image}"]
        return [*command, image]

    def push_environment(self, auth_dir: Path | None) -> dict[str, str]:
        """The environment for a push: Docker reads its auth file through ``DOCKER_CONFIG``."""
        env = dict(os.environ)
        if self.name == "docker" and auth_dir is not None:
            env["DOCKER_CONFIG"] = str(auth_dir)
        return env


def _rootful_sandbox() -> bool:
    """True when running as root in a container or in CI: overlay and namespaces are unlikely."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    in_container = (
        Path("/.dockerenv").exists()
        or Path("/run/.containerenv").exists()
        or bool(os.environ.get("container"))  # noqa: SIM112 (set by podman/systemd)
    )
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    return in_container or in_ci


def _split(variable: str) -> tuple[str, ...] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    try:
        return tuple(shlex.split(value))
    except ValueError:
        raise UsageError(
            f"{variable} is not a valid list of options: {value!r}",
            hint="write it as you would on a shell command line",
        ) from None


def _make(name: str, executable: str) -> Builder:
    if name == "buildah":
        configured = _split("SHIPIT_BUILDAH_ARGS")
        sandbox = _rootful_sandbox()
        global_args = (
            configured
            if configured is not None
            else (("--storage-driver", "vfs") if sandbox else ())
        )
        isolation: tuple[str, ...] = ()
        if sandbox and not os.environ.get("BUILDAH_ISOLATION"):
            isolation = ("--isolation", "chroot")
        return Builder(name, executable, global_args, isolation)
    if name == "podman":
        return Builder(name, executable, _split("SHIPIT_PODMAN_ARGS") or ())
    return Builder(name, executable)


def docker_daemon_running(executable: str) -> bool:
    """True when ``docker`` reaches a daemon (the client alone cannot build)."""
    try:
        done = subprocess.run(
            [executable, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            timeout=_DAEMON_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())


def find_builder(choice: str | None = None) -> Builder:
    """The builder to use: ``choice``, else ``SHIPIT_BUILDER``, else the first usable on PATH."""
    wanted = choice or os.environ.get("SHIPIT_BUILDER") or None
    if wanted is not None:
        if wanted not in BUILDERS:
            raise UsageError(
                f"unknown builder {wanted!r}",
                hint=f"choose one of {', '.join(BUILDERS)}",
            )
        executable = shutil.which(wanted)
        if executable is None:
            raise UsageError(f"builder {wanted!r} is not on PATH", hint=_INSTALL_HINT)
        if wanted == "docker" and not docker_daemon_running(executable):
            raise UsageError(
                "docker is installed but its daemon is not reachable",
                hint="start the Docker daemon (or set DOCKER_HOST), or use --builder buildah",
            )
        return _make(wanted, executable)
    skipped: list[str] = []
    for name in BUILDERS:
        executable = shutil.which(name)
        if executable is None:
            continue
        if name == "docker" and not docker_daemon_running(executable):
            skipped.append("docker (installed, but its daemon is not reachable)")
            continue
        return _make(name, executable)
    found = f"; found only {', '.join(skipped)}" if skipped else ""
    raise UsageError(
        f"no image builder on PATH: looked for {', '.join(BUILDERS)}{found}",
        hint=_INSTALL_HINT,
    )


@dataclass(frozen=True)
class RunResult:
    """A finished builder command: its exit code and the last lines it printed."""

    returncode: int
    tail: tuple[str, ...]


def run_command(
    command: Sequence[str],
    *,
    on_line: Callable[[str], None],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> RunResult:
    """Run ``command``, passing each output line (stdout and stderr) to ``on_line``."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    try:
        process = subprocess.Popen(
            list(command),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            text=True,
            errors="replace",
            bufsize=1,
        )
    except OSError as error:
        raise UsageError(
            f"cannot run {command[0]}: {error.strerror or error}", hint=_INSTALL_HINT
        ) from None
    assert process.stdout is not None
    try:
        for raw in process.stdout:
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            tail.append(line)
            on_line(line)
        returncode = process.wait()
    except BaseException:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise
    finally:
        process.stdout.close()
    return RunResult(returncode, tuple(tail))
