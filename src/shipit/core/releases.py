"""Promote and rollback: which artifact moves where, decided from the providers' own records.

Release identity comes from the provider (``Provider.releases``), never only from a local cache,
so promote and rollback work from any machine, CI included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shipit.config.loader import LoadedConfig
from shipit.config.overlay import ServiceSpec, previous_in_pipeline
from shipit.core.engine import live_release
from shipit.errors import UsageError
from shipit.providers.base import Artifact, Capability, Provider, Release


def promote_source(loaded: LoadedConfig, target: str, source: str | None) -> str:
    """The environment to promote from: ``--from``, else the one before ``target``."""
    if source:
        if source == target:
            raise UsageError("--from and --to name the same environment")
        return source
    previous = previous_in_pipeline(loaded, target)
    if previous is None:
        raise UsageError(
            f"{target!r} has no environment before it in the pipeline",
            hint="pass --from ENV, or set [project].pipeline",
        )
    return previous


def promote_target(loaded: LoadedConfig, target: str | None, source: str | None) -> str:
    """The environment to promote to: ``--to``, else the one after ``--from`` in the pipeline."""
    if target:
        return target
    order = loaded.config.pipeline()
    if source and source in order and order.index(source) + 1 < len(order):
        return order[order.index(source) + 1]
    raise UsageError(
        "say where to promote to with --to ENV", hint="shipit promote --tag v1 --to staging"
    )


def live_artifacts(
    provider: Provider, services: Sequence[ServiceSpec], *, source_env: str
) -> dict[str, Artifact]:
    """The artifact live in the source environment for each service; errors name the fix."""
    if Capability.RELEASES not in provider.capabilities:
        raise UsageError(f"the {provider.name} provider cannot list releases to promote from")
    found: dict[str, Artifact] = {}
    for service in services:
        release = live_release(provider, service)
        if release is None:
            raise UsageError(
                f"nothing is live for service {service.name!r} in {source_env!r}",
                hint=f"shipit deploy {source_env}",
            )
        artifact = release.artifact
        if not artifact.promotable:
            raise UsageError(
                f"service {service.name!r} in {source_env!r} runs a provider source build, "
                "which cannot be promoted",
                hint=f"give services.{service.name} a [build] table and `image` so shipit builds "
                "one image and promotes it by digest",
            )
        found[service.name] = artifact
    return found


def rollback_target(
    provider: Provider, service: ServiceSpec, to: str | None, *, environment: str
) -> Release:
    """The release to go back to: ``--to`` (id, name or id prefix), else the one before live."""
    releases = [r for r in provider.releases(service) if r.state != "failed"]
    if not releases:
        raise UsageError(f"no releases of {service.name!r} in {environment!r} to roll back to")
    if to:
        for release in releases:
            if to in (release.id, release.name, release.artifact.ref) or release.id.startswith(to):
                return release
        known = ", ".join(_label(r) for r in releases[:10])
        raise UsageError(
            f"no release {to!r} of {service.name!r} in {environment!r} (recent: {known})",
            hint=f"shipit releases {environment}",
        )
    live = next((r for r in releases if r.live), None)
    if live is None:
        return releases[0]
    index = releases.index(live)
    for release in releases[index + 1 :]:
        if release.artifact.ref != live.artifact.ref:
            return release
    raise UsageError(
        f"no earlier release of {service.name!r} in {environment!r} to roll back to",
        hint=f"shipit releases {environment}",
    )


def rollback_targets(
    provider: Provider, services: Sequence[ServiceSpec], to: str | None, *, environment: str
) -> Mapping[str, Release]:
    """The release to restore for every service."""
    return {s.name: rollback_target(provider, s, to, environment=environment) for s in services}


def _label(release: Release) -> str:
    return f"{release.name} ({release.id[:12]})" if release.name else release.id[:12]
