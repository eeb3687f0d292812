"""Image artifacts: build once, push, pin by digest; resolve prebuilt images; promotion rules.

Public API:

- :func:`build_image` ``(env, service, *, builder=None, reporter=None) -> Artifact``
- :func:`resolve_image` ``(image) -> Artifact``
- :func:`artifact_for` ``(env, service, ...) -> Artifact | None`` (build, else resolve, else None)
- :func:`ensure_promotable` ``(artifact, service_name)``: UsageError for provider source builds
- :func:`parse_reference` / :class:`ImageReference`, :func:`find_builder`,
  :func:`lookup_credentials`

Modules: ``reference`` (parse image names), ``tagging`` (git commit or content hash), ``auth``
(credentials and the 401 challenge), ``registry`` (the OCI distribution client), ``builders``
(docker/buildah/podman), ``images`` (the orchestration above).
"""

from shipit.artifacts.auth import RegistryCredentials, lookup_credentials
from shipit.artifacts.builders import BUILDERS, Builder, find_builder
from shipit.artifacts.images import artifact_for, build_image, ensure_promotable, resolve_image
from shipit.artifacts.reference import ImageReference, parse_reference

__all__ = [
    "BUILDERS",
    "Builder",
    "ImageReference",
    "RegistryCredentials",
    "artifact_for",
    "build_image",
    "ensure_promotable",
    "find_builder",
    "lookup_credentials",
    "parse_reference",
    "resolve_image",
]
