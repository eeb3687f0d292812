"""Image references: which registry, repository, tag and digest a string like ``app:v1`` names.

The rules are Docker's (``distribution/reference``): the first path component is a registry host
when it contains a ``.`` or a ``:`` or is ``localhost``; otherwise the image lives on Docker Hub
(``docker.io``), and a single-component name gets the ``library/`` prefix. A reference with
neither tag nor digest means the tag ``latest``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from shipit.errors import ConfigError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?$")


def is_digest(value: str) -> bool:
    """True for ``sha256:<64 hex>`` (or sha512), the form registries report."""
    return bool(_DIGEST.match(value))


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``, with or without a port."""
    if host.startswith("["):
        address = host[1 : host.find("]")] if "]" in host else host[1:]
    else:
        address = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ImageReference:
    """A parsed image reference; ``registry`` is ``docker.io`` for Docker Hub."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``registry/repository``, the fully qualified repository name."""
        return f"{self.registry}/{self.repository}"

    @property
    def api_host(self) -> str:
        """The host (and port) that serves the registry API."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def loopback(self) -> bool:
        """True when the registry is on this machine: spoken to over plain HTTP, as Docker does."""
        return is_loopback_host(self.registry)

    @property
    def base_url(self) -> str:
        """``http://`` for loopback registries, ``https://`` for every other."""
        scheme = "http" if self.loopback else "https"
        return f"{scheme}://{self.api_host}"

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest if pinned, else the tag (default ``latest``)."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> str:
        """``registry/repository:tag``."""
        return f"{self.name}:{tag}"

    def pinned(self, digest: str) -> str:
        """``registry/repository@digest``, the immutable form shipit deploys."""
        return f"{self.name}@{digest}"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _invalid(image: str, reason: str, key: str | None) -> ConfigError:
    return ConfigError(
        f"invalid image reference {image!r}: {reason}",
        key=key,
        hint="write it as [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST], "
        "e.g. registry.fly.io/my-app or ghcr.io/me/app:v1",
    )


def parse_reference(image: str, *, key: str | None = None) -> ImageReference:
    """Parse ``image``; a ConfigError (naming ``key``, the config key it came from) if invalid."""
    text = image.strip()
    if not text:
        raise _invalid(image, "it is empty", key)
    digest: str | None = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not is_digest(digest):
            raise _invalid(image, "the digest is not sha256:<64 hex digits>", key)
    tag: str | None = None
    last = text.rsplit("/", 1)[-1]
    if ":" in last:
        text, tag = text.rsplit(":", 1)
        if not _TAG.match(tag):
            raise _invalid(image, f"{tag!r} is not a valid tag", key)
    parts = text.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, parts[1:]
        if not _HOST.match(registry):
            raise _invalid(image, f"{registry!r} is not a valid registry host", key)
    else:
        registry, path = DOCKER_HUB, parts
    if registry.lower() in _HUB_ALIASES:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and len(path) == 1:
        path = ["library", *path]
    for component in path:
        if not _COMPONENT.match(component):
            reason = (
                "repository names are lowercase"
                if component.lower() != component
                else f"{component!r} is not a valid repository path component"
            )
            raise _invalid(image, reason, key)
    return ImageReference(registry=registry, repository="/".join(path), tag=tag, digest=digest)
