"""What the local provider remembers per service: its releases and its running process.

One JSON file per service, ``.shipit/local/<env>/<service>.json``, written atomically, so
services deploying concurrently in threads never share a file. It holds names and numbers only:
never a variable's value (the names of secret variables are kept, to re-wrap them when read back).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from shipit.providers.base import Artifact, DeployState, Release
from shipit.providers.local.files import read_json, write_json

FORMAT_VERSION = 1


@dataclass
class RunRecord:
    """A release's process: who runs it, where it listens and where it logs."""

    deployment: str
    release: str
    release_name: str | None
    pid: int
    port: int
    host: str
    log: str
    run_file: str
    started_at: str
    env_names: list[str] = field(default_factory=list)
    secret_names: list[str] = field(default_factory=list)
    stopped_at: str | None = None
    replaced: str | None = None  # the deployment stopped early to free this one's port

    @property
    def started(self) -> datetime:
        """``started_at`` as a datetime."""
        return datetime.fromisoformat(self.started_at)


@dataclass
class ReleaseRecord:
    """One deploy of a bundle: a line of ``shipit releases``."""

    id: str
    deployment: str
    artifact: dict[str, Any]
    created_at: str
    name: str | None
    live: bool
    state: DeployState
    config_fingerprint: str | None
    port: int
    log: str
    detail: str = ""

    def to_release(self, service: str) -> Release:
        """The provider-neutral Release."""
        return Release(
            id=self.id,
            service=service,
            artifact=artifact_from_dict(self.artifact),
            created_at=datetime.fromisoformat(self.created_at),
            name=self.name,
            live=self.live,
            state=self.state,
            config_fingerprint=self.config_fingerprint,
            extra={
                "deployment": self.deployment,
                "port": self.port,
                "log": self.log,
                **({"detail": self.detail} if self.detail else {}),
            },
        )


@dataclass
class ServiceState:
    """Everything remembered about one service in one environment."""

    service: str
    releases: list[ReleaseRecord] = field(default_factory=list)
    current: RunRecord | None = None
    pending: RunRecord | None = None
    last_build: str | None = None

    def release_of(self, deployment: str) -> ReleaseRecord | None:
        """The release line of a deployment id."""
        for record in reversed(self.releases):
            if record.deployment == deployment:
                return record
        return None

    def runtime_log(self, deployment: str | None = None) -> tuple[Path, str] | None:
        """The log file and release of a deployment, else of the live (else latest) release."""
        if deployment is not None:
            entry = self.release_of(deployment)
            return (Path(entry.log), entry.id) if entry else None
        if self.current is not None:
            return Path(self.current.log), self.current.release
        if self.releases:
            return Path(self.releases[-1].log), self.releases[-1].id
        return None

    def build_ref(self) -> str | None:
        """The bundle whose build log to show: the last built, else the live or latest one."""
        if self.last_build:
            return self.last_build
        if self.current is not None:
            return self.current.release
        return self.releases[-1].id if self.releases else None


def artifact_to_dict(artifact: Artifact) -> dict[str, Any]:
    """An Artifact as JSON-ready data."""
    return {
        "kind": artifact.kind,
        "ref": artifact.ref,
        "digest": artifact.digest,
        "tag": artifact.tag,
        "extra": dict(artifact.extra),
    }


def artifact_from_dict(data: dict[str, Any]) -> Artifact:
    """The Artifact saved by :func:`artifact_to_dict`."""
    return Artifact(
        kind=data["kind"],
        ref=data["ref"],
        digest=data.get("digest"),
        tag=data.get("tag"),
        extra=data.get("extra") or {},
    )


def _known(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    names = {item.name for item in fields(cls)}
    return {key: value for key, value in data.items() if key in names}


def _run(data: Any) -> RunRecord | None:
    return RunRecord(**_known(RunRecord, data)) if isinstance(data, dict) else None


class StateStore:
    """Loads and saves the per-service state files of one environment."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, service: str) -> Path:
        """The state file of ``service``."""
        return self.folder / f"{service}.json"

    def load(self, service: str) -> ServiceState:
        """The saved state, or an empty one."""
        data = read_json(self.path(service))
        if not isinstance(data, dict):
            return ServiceState(service)
        return ServiceState(
            service=service,
            releases=[
                ReleaseRecord(**_known(ReleaseRecord, item)) for item in data.get("releases", [])
            ],
            current=_run(data.get("current")),
            pending=_run(data.get("pending")),
            last_build=data.get("last_build"),
        )

    def save(self, state: ServiceState) -> None:
        """Write atomically (temp file + rename)."""
        data = {"version": FORMAT_VERSION, **asdict(state)}
        write_json(self.path(state.service), data)
