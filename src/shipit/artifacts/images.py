"""Build once, push, pin by digest: the image artifact of a service, built or resolved.

``build_image`` builds a service's ``[services.X.build]`` table, pushes it to the repository named
by ``image`` under a git-commit (or content-hash) tag, and pins the digest the registry reports for
that tag. ``resolve_image`` pins a prebuilt ``repo:tag`` without building. Both return an
:class:`~shipit.providers.base.Artifact` of kind ``image`` whose ``ref`` is
``registry/repository@sha256:...``; that ref is what gets deployed and promoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shipit.artifacts.auth import (
    RegistryCredentials,
    auth_config,
    credentials_hint,
    lookup_credentials,
)
from shipit.artifacts.builders import Builder, find_builder, run_command
from shipit.artifacts.reference import ImageReference, parse_reference
from shipit.artifacts.registry import RegistryClient
from shipit.artifacts.tagging import image_tag
from shipit.core.reporter import NullReporter, Reporter
from shipit.errors import AuthError, ConfigError, DeployFailedError, ProviderAPIError, UsageError
from shipit.providers.base import Artifact
from shipit.sensitive import redact

if TYPE_CHECKING:
    from shipit.config.overlay import Environment, ServiceSpec

_AUTH_WORDS = ("unauthorized", "authentication required", "denied", "401")
_NETWORK_WORDS = ("connection refused", "no such host", "i/o timeout", "network is unreachable")


def _config_error(env: Environment, key: str, message: str, hint: str) -> ConfigError:
    from shipit.config.loader import display_path

    return ConfigError(message, file=display_path(env.config_path), key=key, hint=hint)


def _target(env: Environment, service: ServiceSpec) -> ImageReference:
    key = f"services.{service.name}.image"
    if not service.image:
        raise _config_error(
            env,
            key,
            "a service with a build table needs `image`, the repository to push to",
            hint='e.g. image = "registry.fly.io/my-app" or "ghcr.io/me/app"',
        )
    target = parse_reference(service.image, key=key)
    if target.digest:
        raise _config_error(
            env,
            key,
            f"{service.image!r} is pinned to a digest; a build pushes to a repository",
            hint="write the repository without @sha256:... (a tag is ignored; shipit tags builds)",
        )
    return target


def build_image(
    env: Environment,
    service: ServiceSpec,
    *,
    builder: str | None = None,
    reporter: Reporter | None = None,
) -> Artifact:
    """Build ``service`` once, push it to its ``image`` repository and pin the registry's digest.

    Paths in the build table are relative to the project root. Builder output goes to
    ``reporter.detail``; a failed build raises DeployFailedError with the last lines of its log.
    """
    report = reporter or NullReporter()
    build = service.build
    if build is None:
        raise UsageError(
            f"service {service.name!r} has no build table",
            hint=f"add a [services.{service.name}.build] table (dockerfile, context) to build it",
        )
    target = _target(env, service)
    prefix = f"services.{service.name}.build"
    context = (env.root / build.context).resolve()
    dockerfile = (env.root / build.dockerfile).resolve()
    if not context.is_dir():
        raise _config_error(
            env,
            f"{prefix}.context",
            f"build context {build.context!r} is not a folder",
            hint="paths in the build table are relative to the folder of shipit.toml",
        )
    if not dockerfile.is_file():
        raise _config_error(
            env,
            f"{prefix}.dockerfile",
            f"Dockerfile {build.dockerfile!r} not found",
            hint="paths in the build table are relative to the folder of shipit.toml",
        )
    tool = find_builder(builder)
    tag = image_tag(
        env.root, context=context, dockerfile=dockerfile, args=build.args, target=build.target
    )
    image = target.with_tag(tag)
    credentials = lookup_credentials(target.registry)
    with RegistryClient(target, credentials) as client:
        client.check_access(push=True)
        command = tool.build_command(
            dockerfile=dockerfile,
            context=context,
            image=image,
            args=build.args,
            target=build.target,
        )
        result = run_command(
            command, on_line=lambda line: report.detail(service.name, line), cwd=env.root
        )
        if result.returncode != 0:
            raise DeployFailedError(
                f"building {service.name!r} with {tool.name} failed (exit {result.returncode})",
                log_tail=[redact(line) for line in result.tail],
                hint=f"fix the error above; `shipit build -s {service.name} --verbose` "
                "shows the whole build log",
            )
        report.step(service.name, "push", "start", image)
        _push(tool, image, target, credentials, report, service.name)
        digest = client.manifest_digest(tag)
    report.step(service.name, "push", "done", digest)
    return Artifact(
        kind="image",
        ref=target.pinned(digest),
        digest=digest,
        tag=tag,
        extra={"image": image, "builder": tool.name},
    )


def _push(
    tool: Builder,
    image: str,
    target: ImageReference,
    credentials: RegistryCredentials | None,
    report: Reporter,
    service: str,
) -> None:
    with auth_config(target.registry, credentials) as auth_dir:
        command = tool.push_command(image, auth_dir=auth_dir, insecure=target.loopback)
        result = run_command(
            command,
            on_line=lambda line: report.detail(service, line),
            env=tool.push_environment(auth_dir),
        )
    if result.returncode == 0:
        return
    report.step(service, "push", "fail")
    _raise_push_failure(tool, image, target, credentials_hint(target.registry), result.tail)


def _raise_push_failure(
    tool: Builder, image: str, target: ImageReference, hint: str, tail: Sequence[str]
) -> None:
    lines = [redact(line) for line in tail]
    text = "\n".join(lines).lower()
    last = lines[-1] if lines else ""
    if any(word in text for word in _AUTH_WORDS):
        raise AuthError(
            f"registry {target.registry} refused the push of {image}: {last}", hint=hint
        )
    if any(word in text for word in _NETWORK_WORDS):
        raise ProviderAPIError(
            "registry",
            f"cannot push {image} to {target.registry}: {last}",
            hint="check the registry host and port in `image` and your network",
        )
    raise DeployFailedError(
        f"pushing {image} with {tool.name} failed",
        log_tail=lines,
        hint="fix the error above and run `shipit build` again",
    )


def resolve_image(image: str) -> Artifact:
    """Pin a prebuilt ``repo:tag`` to the digest its registry reports; a digest ref as is."""
    reference = parse_reference(image)
    if reference.digest:
        return Artifact(kind="image", ref=image, digest=reference.digest, tag=reference.tag)
    tag = reference.tag or "latest"
    with RegistryClient(reference, lookup_credentials(reference.registry)) as client:
        digest = client.manifest_digest(tag)
    return Artifact(
        kind="image",
        ref=reference.pinned(digest),
        digest=digest,
        tag=tag,
        extra={"image": image},
    )


def artifact_for(
    env: Environment,
    service: ServiceSpec,
    *,
    builder: str | None = None,
    reporter: Reporter | None = None,
) -> Artifact | None:
    """The service's image: built when it has a build table, resolved when it names an image."""
    if service.build is not None:
        return build_image(env, service, builder=builder, reporter=reporter)
    if service.image:
        return resolve_image(service.image)
    return None


def ensure_promotable(artifact: Artifact, service_name: str) -> None:
    """A UsageError (exit 2) with the fix when ``artifact`` is a provider's own source build."""
    if artifact.promotable:
        return
    raise UsageError(
        f"service {service_name!r} runs a provider source build ({artifact.ref}), "
        "which cannot be promoted: there is no immutable image to move",
        hint=f"add a [services.{service_name}.build] table (dockerfile, context) and "
        f"`image` (the repository to push to) under [services.{service_name}], deploy again, "
        "then promote",
    )
