"""The Provider protocol every adapter implements, its capabilities and its typed results.

One adapter instance serves one environment; it is created by the registry with a
:class:`ProviderContext` (its credentials and where it may keep state) and used synchronously.
Adapters translate: they never print, never read shipit.toml and never decide policy. The engine
(``shipit.core.engine``) drives them and owns timing: ``health`` answers one probe; the engine
polls.

A deploy goes ``set_env`` -> ``link_db`` -> ``deploy`` -> ``health`` (polled) -> ``settle``;
``settle(healthy=False)`` leaves the previous release serving where the platform allows.

``backups`` (see :class:`ReportsBackups`) is optional: only adapters that declare
:attr:`Capability.BACKUPS` define it, and callers check the capability first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from shipit.sensitive import Secret

if TYPE_CHECKING:
    from shipit.config.overlay import Environment, ServiceSpec

EnvValues = Mapping[str, "str | Secret"]


class Capability(StrEnum):
    """What an adapter can do; the core checks one before it calls, the README table lists them."""

    BUILD = "build"  # builds its own artifact (local bundle, or a platform source build)
    DEPLOY_IMAGE = "deploy_image"  # deploys a pinned OCI image
    SET_ENV = "set_env"
    SET_ENV_BATCH = "set_env_batch"  # many variables in one API call
    READ_ENV = "read_env"  # can list variable names
    READ_SECRET_VALUES = "read_secret_values"  # can read values back (Fly cannot)
    LINK_DB = "link_db"
    HEALTH = "health"
    LOGS = "logs"
    LOGS_FOLLOW = "logs_follow"
    BUILD_LOGS = "build_logs"
    RELEASES = "releases"
    ROLLBACK = "rollback"
    PROMOTE = "promote"
    STOP = "stop"  # `shipit down`
    BACKUPS = "backups"  # reports whether a database has backups


ArtifactKind = Literal["image", "bundle", "source"]


@dataclass(frozen=True)
class Artifact:
    """What was built, immutable and addressable.

    ``image``: an OCI image pinned by digest, ``ref`` = ``repository@sha256:...``.
    ``bundle``: a local release bundle, ``ref`` = its content-hash id.
    ``source``: a provider's own source build; deployable but never promotable.
    """

    kind: ArtifactKind
    ref: str
    digest: str | None = None
    tag: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def promotable(self) -> bool:
        """Only immutable artifacts can move between environments."""
        return self.kind != "source"

    @property
    def short(self) -> str:
        """A short form for humans: the digest or id, abbreviated."""
        if self.digest:
            return self.digest.split(":", 1)[-1][:12]
        return self.ref[:16]


DeployState = Literal["queued", "building", "deploying", "live", "failed", "cancelled", "stopped"]


@dataclass(frozen=True)
class Deployment:
    """One deploy of an artifact to a service, as the provider knows it."""

    id: str
    service: str
    artifact: Artifact
    state: DeployState = "deploying"
    url: str | None = None
    release_name: str | None = None
    created_at: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


HealthState = Literal["pending", "healthy", "failed"]


@dataclass(frozen=True)
class HealthResult:
    """One health probe: ``pending`` (poll again), ``healthy`` or ``failed`` (stop waiting).

    ``release`` is what the service's own health path reported, when it reports one.
    """

    state: HealthState
    detail: str = ""
    url: str | None = None
    status_code: int | None = None
    release: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvApplied:
    """The result of ``set_env``: what changed and whether the service must redeploy."""

    set: tuple[str, ...]
    unset: tuple[str, ...]
    needs_deploy: bool = True


@dataclass(frozen=True)
class DatabaseLink:
    """A database attached to a service; ``variable`` is what the service reads (DATABASE_URL)."""

    kind: str
    variable: str
    created: bool
    written: bool
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


LogStream = Literal["build", "stdout", "stderr", "deploy", "runtime", "http"]


@dataclass(frozen=True)
class LogLine:
    """One line of build or runtime log, the same shape for every provider."""

    timestamp: datetime
    service: str
    stream: LogStream
    message: str
    release: str | None = None
    level: str | None = None


@dataclass(frozen=True)
class Release:
    """An artifact deployed to an environment, with its name, time and config fingerprint."""

    id: str
    service: str
    artifact: Artifact
    created_at: datetime
    name: str | None = None
    live: bool = False
    state: DeployState = "live"
    config_fingerprint: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


ServiceState = Literal["running", "deploying", "stopped", "crashed", "failed", "unknown"]


@dataclass(frozen=True)
class ServiceStatus:
    """What a service is doing now."""

    service: str
    state: ServiceState
    url: str | None = None
    release: str | None = None
    release_name: str | None = None
    healthy: bool | None = None
    since: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BackupStatus:
    """Whether a service's database has backups, as the provider reports it.

    ``latest`` is when the newest backup finished (None when the provider does not say);
    ``detail`` is one line for humans; provider-only fields go in ``extra``.
    """

    enabled: bool
    detail: str
    latest: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderContext:
    """What an adapter is given: the environment, a state folder and its credentials."""

    environment: Environment
    state_dir: Path
    token: Secret | None = None
    verbose: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    """The operations shipit needs from a platform, for one environment.

    Optional operations, defined only where an adapter can: ``planned_artifact`` (below) and
    ``backups(service) -> BackupStatus | None`` (:class:`ReportsBackups`; with
    :attr:`Capability.BACKUPS`: whether the service's database has backups, None when no
    database is linked yet).
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def build(self, service: ServiceSpec) -> Artifact:
        """Build the service's artifact with the provider's own means (local bundle)."""
        ...

    def planned_artifact(self, service: ServiceSpec) -> Artifact | None:
        """What ``build`` would produce, without building; None = unknown ("will build").

        Optional: ``shipit plan`` calls it only where an adapter defines it.
        """
        ...

    def get_env(self, service: ServiceSpec) -> Mapping[str, str | Secret] | None:
        """The variables set on the provider now; None when unknown (nothing deployed)."""
        ...

    def set_env(
        self, service: ServiceSpec, values: EnvValues, unset: Sequence[str] = ()
    ) -> EnvApplied:
        """Set many variables at once; remove only those in ``unset``; never wipe the rest."""
        ...

    def link_db(self, service: ServiceSpec) -> DatabaseLink:
        """Provision or attach the service's database and make DATABASE_URL reach it."""
        ...

    def deploy(
        self, service: ServiceSpec, artifact: Artifact, *, release_name: str | None = None
    ) -> Deployment:
        """Start deploying ``artifact``; returns at once, ``health`` tells when it is done."""
        ...

    def health(self, service: ServiceSpec, deployment: Deployment) -> HealthResult:
        """One probe: provider status first, then the service's own health path."""
        ...

    def settle(self, service: ServiceSpec, deployment: Deployment, *, healthy: bool) -> None:
        """Finish a deploy: retire the old release when healthy, else keep the old one serving."""
        ...

    def logs(
        self,
        service: ServiceSpec,
        *,
        follow: bool = False,
        lines: int | None = None,
        since: datetime | None = None,
        build: bool = False,
        deployment: Deployment | None = None,
    ) -> Iterator[LogLine]:
        """Build or runtime log lines, oldest first; with ``follow``, until interrupted."""
        ...

    def releases(self, service: ServiceSpec) -> list[Release]:
        """Releases of the service, newest first; the live one has ``live=True``."""
        ...

    def redeploy(self, service: ServiceSpec, release: Release) -> Deployment:
        """Deploy an earlier release again (rollback); never rebuilds."""
        ...

    def status(self, service: ServiceSpec) -> ServiceStatus:
        """What the service is doing now."""
        ...

    def stop(self, service: ServiceSpec) -> None:
        """Stop the service (``shipit down``)."""
        ...

    def close(self) -> None:
        """Release clients and files."""
        ...


@runtime_checkable
class ReportsBackups(Protocol):
    """The optional ``backups`` operation of adapters that declare :attr:`Capability.BACKUPS`.

    Kept out of :class:`Provider` so adapters without the capability need not define it.
    """

    def backups(self, service: ServiceSpec) -> BackupStatus | None:
        """Whether the service's database has backups; None when the provider knows of no
        database linked to it (yet)."""
        ...
