"""What a deploy would change: desired state (shipit.toml + secrets + artifact) vs the provider's.

:func:`compute_plan` reads the provider (``get_env``, ``releases``, ``planned_artifact``; a
registry read for a prebuilt image) and never writes. The diffing functions below it
(:func:`diff_env`, :func:`diff_artifact`, :func:`diff_database`, :func:`plan_service`) do no I/O
at all, so they are unit-tested on plain values.

Decisions a reader may look for:

- Secret values never appear: a changed secret is ``changed`` with HMAC fingerprints
  (:mod:`shipit.fingerprint`). Where the provider cannot read values back (Fly), a secret that
  exists on both sides is ``unverified``: shown, but not counted as a change.
- A deploy never removes variables it was not told to remove (``set_env`` never wipes), so a
  variable on the provider that shipit.toml does not list is ``unmanaged`` (kept), not
  ``removed``; ``remove`` appears only for names passed in ``unset`` (``env push --unset``).
  ``PORT``, ``HOST`` and a linked database's ``DATABASE_URL`` are set by shipit or the platform
  and are never reported as unmanaged.
- An unknown planned artifact (a build table, a provider's source build) counts as a change:
  what gets deployed is decided by the build.
- A deploy always rolls out a new deployment, so ``restart`` is true whenever something is
  running, even when nothing else changed (the same release comes up again).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shipit.config.overlay import Environment, ServiceSpec
from shipit.providers.base import Artifact, Capability, Provider
from shipit.sensitive import Secret, reveal

ServiceAction = Literal["create", "update", "none"]
EnvAction = Literal["add", "change", "remove", "unverified"]
ArtifactAction = Literal["new", "change", "same", "build"]
DatabaseAction = Literal["link", "linked", "unsupported"]
Fingerprinter = Callable[[str, "str | Secret"], str]

#: Variables the platform or shipit itself sets; never reported as unmanaged.
INJECTED = frozenset({"PORT", "HOST"})
INJECTED_PREFIX = "SHIPIT_"  # SHIPIT_RELEASE, SHIPIT_SERVICE... set by the local provider
DATABASE_VARIABLE = "DATABASE_URL"


@dataclass(frozen=True)
class EnvChange:
    """One variable that differs. For a secret, ``old``/``new`` are fingerprints, never values."""

    name: str
    action: EnvAction
    secret: bool = False
    old: str | None = None
    new: str | None = None

    @property
    def counts(self) -> bool:
        """True when applying the plan changes this variable."""
        return self.action != "unverified"

    def describe(self) -> str:
        """One human line: ``+ NAME = "v"``, ``~ SECRET: changed (fp a1b2 -> c3d4)``..."""
        if self.secret:
            if self.action == "add":
                return f"+ {self.name}: secret set (fp {self.new})"
            if self.action == "change":
                return f"~ {self.name}: changed (fp {self.old} -> {self.new})"
            if self.action == "remove":
                return f"- {self.name}: removed"
            return f"? {self.name}: secret set; the provider cannot read it back to compare"
        if self.action == "add":
            return f"+ {self.name} = {self.new!r}"
        if self.action == "change":
            return f"~ {self.name}: {self.old!r} -> {self.new!r}"
        if self.action == "remove":
            return f"- {self.name} (was {self.old!r})"
        return f"? {self.name}: cannot be compared"

    def to_dict(self) -> dict[str, Any]:
        """As JSON: secrets carry ``old_fingerprint``/``new_fingerprint`` instead of values."""
        document: dict[str, Any] = {"name": self.name, "action": self.action, "secret": self.secret}
        if self.secret:
            document["old_fingerprint"] = self.old
            document["new_fingerprint"] = self.new
        else:
            document["old"] = self.old
            document["new"] = self.new
        return document


@dataclass(frozen=True)
class ArtifactPlan:
    """The artifact change: the live one vs the one the deploy would roll out.

    ``planned`` is None when only a build can tell (``action == "build"``). ``needs_build``
    says whether the engine still builds it (a local bundle is hashed ahead but built at deploy;
    a prebuilt image is resolved to its digest and deployed as is).
    """

    action: ArtifactAction
    live: Artifact | None
    planned: Artifact | None
    needs_build: bool = True

    @property
    def counts(self) -> bool:
        """True when a different artifact would be deployed (or a build decides)."""
        return self.action != "same"

    def describe(self) -> str:
        """One human line."""
        live = _artifact_text(self.live)
        planned = _artifact_text(self.planned)
        if self.action == "same":
            return f"artifact {planned} (unchanged)"
        if self.action == "build":
            prefix = f"{live} -> " if self.live else ""
            return f"artifact {prefix}built at deploy (known after the build)"
        if self.action == "new":
            return f"artifact {planned} (first release)"
        return f"artifact {live} -> {planned}"

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "action": self.action,
            "live": _artifact_dict(self.live),
            "planned": _artifact_dict(self.planned),
            "needs_build": self.needs_build,
        }


@dataclass(frozen=True)
class DatabasePlan:
    """The database link: ``link`` (provision or attach, then set DATABASE_URL), ``linked``."""

    kind: str
    action: DatabaseAction
    variable: str = DATABASE_VARIABLE

    @property
    def counts(self) -> bool:
        """True when applying the plan links a database."""
        return self.action == "link"

    def describe(self) -> str:
        """One human line."""
        if self.action == "link":
            return f"database {self.kind}: provision or attach, set {self.variable}"
        if self.action == "linked":
            return f"database {self.kind}: linked ({self.variable} set)"
        return f"database {self.kind}: this provider cannot link databases"

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {"kind": self.kind, "action": self.action, "variable": self.variable}


@dataclass(frozen=True)
class ServicePlan:
    """Everything a deploy would change for one service."""

    service: str
    remote_name: str
    action: ServiceAction
    artifact: ArtifactPlan
    env: tuple[EnvChange, ...] = ()
    database: DatabasePlan | None = None
    restart: bool = False
    unmanaged: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changes(self) -> bool:
        """True when applying the plan changes this service."""
        return self.action != "none"

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "name": self.service,
            "remote_name": self.remote_name,
            "action": self.action,
            "changes": self.changes,
            "restart": self.restart,
            "artifact": self.artifact.to_dict(),
            "env": [change.to_dict() for change in self.env],
            "database": self.database.to_dict() if self.database else None,
            "unmanaged": list(self.unmanaged),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class DeployPlan:
    """The plan for one environment: one :class:`ServicePlan` per selected service."""

    environment: str
    provider: str
    services: tuple[ServicePlan, ...]
    notes: tuple[str, ...] = ()

    @property
    def changes(self) -> bool:
        """True when applying the plan would change anything."""
        return any(service.changes for service in self.services)

    @property
    def planned_artifacts(self) -> dict[str, Artifact]:
        """Artifacts known ahead, by service (whether or not the engine still builds them)."""
        return {
            s.service: s.artifact.planned for s in self.services if s.artifact.planned is not None
        }

    @property
    def ready_artifacts(self) -> dict[str, Artifact]:
        """Artifacts the engine deploys as they are (no build): pass them as ``artifacts=``."""
        return {
            s.service: s.artifact.planned
            for s in self.services
            if s.artifact.planned is not None and not s.artifact.needs_build
        }

    @property
    def expected_builds(self) -> dict[str, Artifact]:
        """Artifacts the engine builds whose result is known ahead: a build must match them."""
        return {
            s.service: s.artifact.planned
            for s in self.services
            if s.artifact.planned is not None and s.artifact.needs_build
        }

    def to_dict(self) -> dict[str, Any]:
        """The plan as one JSON document; ``changes`` is what ``--detailed-exit-code`` reports."""
        return {
            "environment": self.environment,
            "provider": self.provider,
            "changes": self.changes,
            "services": [service.to_dict() for service in self.services],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class DesiredService:
    """What shipit.toml, the secrets and the planned artifact ask for."""

    name: str
    remote_name: str
    env: Mapping[str, str | Secret]
    secret_names: frozenset[str]
    database: str | None
    artifact: Artifact | None
    needs_build: bool = True


@dataclass(frozen=True)
class ActualService:
    """What the provider reports. ``env`` is None when unknown (nothing deployed, or unreadable)."""

    live: Artifact | None
    env: Mapping[str, str | Secret] | None
    exists: bool
    env_readable: bool = True
    secret_values_readable: bool = True
    can_link_db: bool = True
    notes: tuple[str, ...] = field(default=())


# pure diffing -----------------------------------------------------------------------------
def same_artifact(a: Artifact, b: Artifact) -> bool:
    """Two artifacts are the same build: same digest when both have one, else the same ref."""
    if a.digest and b.digest:
        return a.digest == b.digest
    return a.ref == b.ref


def diff_artifact(
    planned: Artifact | None, live: Artifact | None, *, needs_build: bool = True
) -> ArtifactPlan:
    """The artifact change between what is live and what the deploy would roll out."""
    if planned is None:
        return ArtifactPlan("build", live, None, needs_build=True)
    if live is None:
        return ArtifactPlan("new", None, planned, needs_build=needs_build)
    if same_artifact(planned, live):
        return ArtifactPlan("same", live, planned, needs_build=needs_build)
    return ArtifactPlan("change", live, planned, needs_build=needs_build)


def _same(a: str | Secret, b: str | Secret) -> bool:
    """Equal values, compared without wrapping plain text (wrapping would mark it secret)."""
    return reveal(a) == reveal(b)


def _plain(value: str | Secret) -> str:
    """A value for display: a plain string as is, anything wrapped stays masked."""
    return value if isinstance(value, str) else str(value)


def diff_env(
    desired: Mapping[str, str | Secret],
    actual: Mapping[str, str | Secret] | None,
    *,
    secret_names: Collection[str],
    fingerprint: Fingerprinter,
    unset: Collection[str] = (),
    secret_values_readable: bool = True,
    injected: Collection[str] = INJECTED,
) -> tuple[tuple[EnvChange, ...], tuple[str, ...]]:
    """The variable changes and the unmanaged names (on the provider, not in shipit.toml).

    ``actual`` None means nothing is set yet: every desired variable is added. A value counts as
    secret when its name is in ``secret_names`` or either side holds a :class:`Secret`; secrets
    are compared by value and shown by ``fingerprint`` only.
    """
    current: Mapping[str, str | Secret] = actual or {}
    changes: list[EnvChange] = []
    for name in sorted(desired):
        new = desired[name]
        old = current.get(name)
        secret = name in secret_names or isinstance(new, Secret) or isinstance(old, Secret)
        if old is None:
            if secret:
                changes.append(EnvChange(name, "add", True, None, fingerprint(name, new)))
            else:
                changes.append(EnvChange(name, "add", False, None, _plain(new)))
            continue
        if secret and not secret_values_readable:
            changes.append(EnvChange(name, "unverified", True))
            continue
        if _same(old, new):
            continue
        if secret:
            old_fp = fingerprint(name, old)
            new_fp = fingerprint(name, new)
            changes.append(EnvChange(name, "change", True, old_fp, new_fp))
        else:
            changes.append(EnvChange(name, "change", False, _plain(old), _plain(new)))
    for name in sorted(set(unset)):
        if name in current and name not in desired:
            old = current[name]
            secret = name in secret_names or isinstance(old, Secret)
            changes.append(EnvChange(name, "remove", secret, None if secret else _plain(old)))
    unmanaged = tuple(
        sorted(
            n
            for n in current
            if n not in desired
            and n not in unset
            and n not in injected
            and not n.startswith(INJECTED_PREFIX)
        )
    )
    return tuple(changes), unmanaged


def diff_database(
    database: str | None,
    actual_env: Mapping[str, str | Secret] | None,
    *,
    can_link: bool,
    variable: str = DATABASE_VARIABLE,
) -> DatabasePlan | None:
    """The database link: None without a database; ``linked`` once the variable is set."""
    if database is None:
        return None
    if not can_link:
        return DatabasePlan(database, "unsupported", variable)
    if actual_env is not None and actual_env.get(variable):
        return DatabasePlan(database, "linked", variable)
    return DatabasePlan(database, "link", variable)


def plan_service(
    desired: DesiredService,
    actual: ActualService,
    *,
    fingerprint: Fingerprinter,
    unset: Collection[str] = (),
) -> ServicePlan:
    """The plan for one service from its desired and actual state."""
    artifact = diff_artifact(desired.artifact, actual.live, needs_build=desired.needs_build)
    notes = list(actual.notes)
    injected = set(INJECTED)
    if desired.database:
        injected.add(DATABASE_VARIABLE)
    if actual.env_readable:
        env, unmanaged = diff_env(
            desired.env,
            actual.env,
            secret_names=desired.secret_names,
            fingerprint=fingerprint,
            unset=unset,
            secret_values_readable=actual.secret_values_readable,
            injected=injected,
        )
    else:
        env, unmanaged = (), ()
        notes.append("the provider cannot list variables; they are set at deploy")
    database = diff_database(desired.database, actual.env, can_link=actual.can_link_db)
    if database is not None and database.action == "unsupported":
        notes.append(f"the provider cannot link a {database.kind} database; set DATABASE_URL")
    if not actual.exists:
        action: ServiceAction = "create"
    elif (
        artifact.counts
        or any(change.counts for change in env)
        or (database is not None and database.counts)
    ):
        action = "update"
    else:
        action = "none"
    if unmanaged:
        notes.append(
            f"{len(unmanaged)} variable(s) on the provider are not in shipit.toml and are kept"
        )
    return ServicePlan(
        service=desired.name,
        remote_name=desired.remote_name,
        action=action,
        artifact=artifact,
        env=env,
        database=database,
        restart=actual.exists,
        unmanaged=unmanaged,
        notes=tuple(notes),
    )


# reading the provider (no writes) ---------------------------------------------------------
def planned_artifact(provider: Provider, service: ServiceSpec) -> tuple[Artifact | None, bool]:
    """The artifact a deploy would roll out, without building, and whether it is still built.

    Mirrors the engine's choice: an image service on an image-capable provider is built from its
    ``build`` table (unknown ahead) or resolved from the registry (a prebuilt image, deployed as
    is); otherwise the provider's own build, which ``planned_artifact`` may hash ahead.
    """
    caps = provider.capabilities
    if Capability.DEPLOY_IMAGE in caps and (service.build or service.image):
        if service.build is not None:
            return None, True
        from shipit import artifacts

        assert service.image is not None
        return artifacts.resolve_image(service.image), False
    if Capability.BUILD in caps:
        ahead = getattr(provider, "planned_artifact", None)
        return (ahead(service) if callable(ahead) else None), True
    return None, True


def read_actual(provider: Provider, service: ServiceSpec) -> ActualService:
    """What the provider runs and has set for ``service`` (reads only)."""
    from shipit.core.engine import live_release

    caps = provider.capabilities
    live = live_release(provider, service)
    env_readable = Capability.READ_ENV in caps
    env = provider.get_env(service) if env_readable else None
    notes: list[str] = []
    if Capability.RELEASES in caps:
        exists = live is not None
    else:
        exists = env is not None
        notes.append("the provider keeps no release history; the live artifact is unknown")
    return ActualService(
        live=live.artifact if live else None,
        env=env,
        exists=exists,
        env_readable=env_readable,
        secret_values_readable=Capability.READ_SECRET_VALUES in caps,
        can_link_db=Capability.LINK_DB in caps,
        notes=tuple(notes),
    )


def desired_service(
    provider: Provider, service: ServiceSpec, secrets: Mapping[str, Secret]
) -> DesiredService:
    """What the deploy would apply to ``service`` (a registry read for a prebuilt image)."""
    from shipit.core.engine import env_values

    artifact, needs_build = planned_artifact(provider, service)
    return DesiredService(
        name=service.name,
        remote_name=service.remote_name,
        env=env_values(service, secrets),
        secret_names=frozenset((*service.secrets, *service.plain_secrets)),
        database=service.database,
        artifact=artifact,
        needs_build=needs_build,
    )


def compute_plan(
    env: Environment,
    provider: Provider,
    secrets: Mapping[str, Secret],
    *,
    services: Iterable[str] | None = None,
    unset: Collection[str] = (),
    fingerprint: Fingerprinter | None = None,
) -> DeployPlan:
    """The plan to deploy ``services`` (names; default all) of ``env``; provider reads only."""
    from shipit.core.engine import select_services

    specs = select_services(env, services)
    warning: str | None = None
    if fingerprint is None:
        from shipit.fingerprint import fingerprint_key

        key = fingerprint_key(env.project)
        fingerprint, warning = key.fingerprint, key.warning
    planned = [
        plan_service(
            desired_service(provider, spec, secrets),
            read_actual(provider, spec),
            fingerprint=fingerprint,
            unset=unset,
        )
        for spec in specs
    ]
    shows_fingerprints = any(c.secret and (c.old or c.new) for p in planned for c in p.env)
    notes = (warning,) if warning and shows_fingerprints else ()
    return DeployPlan(env.name, provider.name, tuple(planned), notes)


def _artifact_text(artifact: Artifact | None) -> str:
    if artifact is None:
        return "-"
    if artifact.kind == "image":
        return (
            artifact.ref if len(artifact.ref) <= 60 else f"{artifact.ref[:45]}...{artifact.short}"
        )
    return f"{artifact.kind} {artifact.ref[:16]}"


def _artifact_dict(artifact: Artifact | None) -> dict[str, Any] | None:
    if artifact is None:
        return None
    return {"kind": artifact.kind, "ref": artifact.ref, "digest": artifact.digest}
