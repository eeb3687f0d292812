"""Release bundles: an immutable, content-addressed copy of a service's source, built once.

A bundle's id is the first 12 hex digits of a sha256 over the bundled files (sorted relative
path, mode and bytes; symlinks by their target) and the service's ``build_command``. Bundles live
in ``.shipit/bundles/<id>/``, shared by every environment, so promoting ``local`` to ``preview``
runs the very same files. A complete bundle is reused, never rebuilt.

Building copies the files into a temp folder, renames it to ``bundles/<id>/`` and then runs the
build command there, so that tools which record absolute paths (a virtualenv, for instance) point
at the bundle's final place. ``bundles/<id>.json`` is written last and marks the bundle complete;
a folder without it is a failed or interrupted build and is removed before the next attempt.
A file lock (``bundles/<id>.lock``) keeps two builds of one bundle from overlapping.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import stat
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from shipit.errors import ConfigError, DeployFailedError
from shipit.providers.base import Artifact
from shipit.providers.local.environ import machine_environment
from shipit.providers.local.files import read_json, write_json
from shipit.providers.local.ignore import SourceFile, source_files
from shipit.providers.local.logfile import LineWriter, now
from shipit.sensitive import redact

if TYPE_CHECKING:
    from shipit.config.overlay import ServiceSpec

ID_LENGTH = 12
LOG_TAIL_LINES = 20
_CHUNK = 1 << 16
_HASH_VERSION = b"shipit-bundle-v1\0"


class BuildFailedError(DeployFailedError):
    """The build command of a bundle failed; ``ref`` names the bundle whose log tells why."""

    def __init__(self, message: str, *, ref: str, log_tail: list[str], hint: str) -> None:
        super().__init__(message, log_tail=log_tail, hint=hint)
        self.ref = ref


def _mode(path: Path) -> int:
    """0o755 for an executable file, else 0o644 (umask differences do not change the id)."""
    return 0o755 if path.lstat().st_mode & stat.S_IXUSR else 0o644


def content_hash(base: Path, files: list[SourceFile], build_command: str | None) -> str:
    """The full sha256 hex digest of ``files`` under ``base`` and the build command."""
    digest = hashlib.sha256(_HASH_VERSION)
    command = (build_command or "").encode()
    digest.update(b"build_command\0%d\0" % len(command) + command)
    for item in sorted(files, key=lambda entry: entry.relpath):
        path = base / item.relpath
        name = item.relpath.encode()
        if item.is_link:
            target = str(path.readlink()).encode()
            digest.update(b"L\0%s\0%d\0%s" % (name, len(target), target))
            continue
        digest.update(b"F\0%s\0%o\0%d\0" % (name, _mode(path), path.stat().st_size))
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _copy(source: Path, target: Path, files: list[SourceFile]) -> int:
    """Copy ``files`` from ``source`` into ``target``; returns the bytes copied."""
    size = 0
    for item in files:
        destination = target / item.relpath
        destination.parent.mkdir(parents=True, exist_ok=True)
        origin = source / item.relpath
        if item.is_link:
            destination.symlink_to(origin.readlink())
            continue
        shutil.copyfile(origin, destination)
        destination.chmod(_mode(origin))
        size += destination.stat().st_size
    return size


def _unreadable(service: ServiceSpec, error: OSError) -> DeployFailedError:
    where = f" ({error.filename})" if error.filename else ""
    return DeployFailedError(
        f"cannot bundle service {service.name!r}: {error.strerror or error}{where}",
        hint="make the source files readable, or list what should not ship in .gitignore",
    )


def require_start(service: ServiceSpec) -> str:
    """The service's start command; the local provider cannot run an image."""
    if not service.start:
        raise ConfigError(
            f"the local provider needs `start` for service {service.name!r} "
            "(it runs a command from the source, not an image)",
            hint=f'add start = "..." to [services.{service.name}] in shipit.toml, '
            "or deploy this service to a provider that runs images",
        )
    return service.start


class BundleStore:
    """The bundles folder of a project: build, find and describe bundles."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, ref: str) -> Path:
        """The folder of bundle ``ref``."""
        return self.folder / ref

    def build_log(self, ref: str) -> Path:
        """The build output of bundle ``ref`` (of its last attempt, if it failed)."""
        return self.folder / f"{ref}.log"

    def _manifest(self, ref: str) -> Path:
        return self.folder / f"{ref}.json"

    def complete(self, ref: str) -> bool:
        """Whether bundle ``ref`` exists and finished building."""
        return self.path(ref).is_dir() and self._manifest(ref).is_file()

    def require(self, artifact: Artifact) -> Path:
        """The folder of a deployable bundle artifact, or a clear error."""
        if artifact.kind != "bundle":
            raise ConfigError(
                f"the local provider runs release bundles, not {artifact.kind} artifacts "
                f"({artifact.ref})",
                hint="promote to local only from another local environment",
            )
        if not self.complete(artifact.ref):
            raise DeployFailedError(
                f"release bundle {artifact.ref} is no longer in {self.folder}",
                hint="deploy a fresh build instead (`shipit deploy ENV`); "
                "bundles are kept until .shipit/bundles is cleaned",
            )
        return self.path(artifact.ref)

    @contextmanager
    def _locked(self, ref: str) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / f"{ref}.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _artifact(self, ref: str, digest: str) -> Artifact:
        manifest = read_json(self._manifest(ref))
        extra = {}
        if isinstance(manifest, dict):
            extra = {"files": manifest.get("files"), "bytes": manifest.get("bytes")}
        return Artifact(kind="bundle", ref=ref, digest=f"sha256:{digest}", extra=extra)

    def _hash_source(self, service: ServiceSpec, root: Path | None) -> tuple[list[SourceFile], str]:
        require_start(service)
        source = service.source
        if not source.is_dir():
            raise ConfigError(
                f"source folder of service {service.name!r} does not exist: {source}",
                hint=f"set `source` in [services.{service.name}] to a folder of the project",
            )
        try:
            files = source_files(source, root=root)
            return files, content_hash(source, files, service.build_command)
        except OSError as error:
            raise _unreadable(service, error) from None

    def planned(self, service: ServiceSpec, *, root: Path | None = None) -> Artifact:
        """The artifact ``build`` would produce from the source as it is now, without building."""
        _, digest = self._hash_source(service, root)
        ref = digest[:ID_LENGTH]
        if self.complete(ref):
            return self._artifact(ref, digest)
        return Artifact(kind="bundle", ref=ref, digest=f"sha256:{digest}")

    def build(self, service: ServiceSpec, *, root: Path | None = None) -> Artifact:
        """The bundle of ``service.source``: reused when complete, else copied and built."""
        source = service.source
        files, digest = self._hash_source(service, root)
        ref = digest[:ID_LENGTH]
        if self.complete(ref):
            return self._artifact(ref, digest)
        self.folder.mkdir(parents=True, exist_ok=True)
        temp = self.folder / f".tmp-{ref}-{uuid.uuid4().hex[:8]}"
        try:
            try:
                size = _copy(source, temp, files)
                copied = content_hash(temp, files, service.build_command)
            except OSError as error:
                raise _unreadable(service, error) from None
            if copied != digest:  # the source changed while it was copied: name what we have
                digest, ref = copied, copied[:ID_LENGTH]
            with self._locked(ref):
                if self.complete(ref):
                    return self._artifact(ref, digest)
                self._place(temp, ref)
                self._run_build(service, ref, len(files), size)
                write_json(
                    self._manifest(ref),
                    {
                        "id": ref,
                        "digest": f"sha256:{digest}",
                        "files": len(files),
                        "bytes": size,
                        "build_command": service.build_command,
                        "created_at": now().isoformat(),
                    },
                )
        finally:
            if temp.exists():
                shutil.rmtree(temp, ignore_errors=True)
        return self._artifact(ref, digest)

    def _place(self, temp: Path, ref: str) -> None:
        """Rename the copied files to the bundle's place, clearing an unfinished earlier one."""
        final = self.path(ref)
        if final.exists():
            shutil.rmtree(final)
        temp.rename(final)

    def _run_build(self, service: ServiceSpec, ref: str, count: int, size: int) -> None:
        """Run the build command in the bundle; on failure remove the bundle and raise."""
        log = self.build_log(ref)
        with log.open("w", encoding="utf-8") as handle:
            writer = LineWriter(handle)
            writer.write("build", f"bundled {count} files ({size} bytes) from {service.source}")
            command = service.build_command
            if not command:
                writer.write("build", "no build_command; bundle ready")
                return
            writer.write("build", f"running: {command}")
            code = _stream_command(command, self.path(ref), writer)
            writer.write("build", f"build command exited with code {code}")
        if code == 0:
            return
        shutil.rmtree(self.path(ref), ignore_errors=True)
        tail = [line.split(" ", 2)[-1] for line in log.read_text().splitlines()]
        raise BuildFailedError(
            f"build of service {service.name!r} failed: `{command}` exited with code {code}",
            ref=ref,
            log_tail=[redact(line) for line in tail[-LOG_TAIL_LINES:]],
            hint=f"fix the build, or see all of its output with "
            f"`shipit logs -s {service.name} --build`",
        )


def _stream_command(command: str, cwd: Path, writer: LineWriter) -> int:
    """Run ``command`` in ``cwd`` through the shell, each output line into ``writer``."""
    environment = machine_environment()
    environment["PWD"] = str(cwd)
    with subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=cwd,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            writer.write("build", raw.decode("utf-8", errors="replace").rstrip("\r\n"))
        return process.wait()
