"""Guards shared by adapters that only deploy pinned images (Render, Fly.io)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipit.errors import UsageError

if TYPE_CHECKING:
    from shipit.config.overlay import ServiceSpec
    from shipit.providers.base import Artifact


def _hint(service: ServiceSpec) -> str:
    return f"give services.{service.name} an `image` (and a [build] table to build it)"


def no_source_build(provider: str, service: ServiceSpec) -> UsageError:
    """The error for ``build`` on a provider that only runs images shipit built or resolved."""
    return UsageError(
        f"the {provider} provider deploys images; service {service.name!r} has none",
        hint=_hint(service),
    )


def require_image(platform: str, artifact: Artifact, service: ServiceSpec) -> None:
    """Refuse anything but a pinned image (a local bundle or a source build)."""
    if artifact.kind != "image":
        raise UsageError(
            f"{platform} runs images; {artifact.ref} is a {artifact.kind}", hint=_hint(service)
        )
