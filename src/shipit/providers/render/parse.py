"""Render's JSON answers as shipit's results: deploy states, artifacts, releases, log lines.

A Render deploy records the image it ran (``image.ref`` as asked, ``image.sha`` the digest Render
resolved), so a release's artifact is rebuilt from Render's own record: ``repository@sha``.
Release names have no place on a deploy; ``SHIPIT_RELEASES``, a service variable holding a small
JSON object, maps an artifact's digest to its release name so names survive on any machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from shipit.artifacts.reference import parse_reference
from shipit.errors import ConfigError
from shipit.providers.base import Artifact, DeployState, LogLine, LogStream, Release
from shipit.providers.bookkeeping import artifact_key
from shipit.providers.timestamps import parse_time

# The spec's deployStatus enum, grouped by what shipit does with each value (API.md section 3).
IN_PROGRESS: Final = frozenset(
    {"created", "queued", "build_in_progress", "update_in_progress", "pre_deploy_in_progress"}
)
LIVE: Final = frozenset({"live"})
SUPERSEDED: Final = frozenset({"deactivated"})  # was live, replaced by a later deploy
FAILED: Final = frozenset({"build_failed", "update_failed", "pre_deploy_failed"})
CANCELED: Final = frozenset({"canceled"})
CANCELLABLE: Final = frozenset(
    {"created", "queued", "build_in_progress", "update_in_progress", "pre_deploy_in_progress"}
)

DEPLOY_STATES: Final[Mapping[str, DeployState]] = {
    "created": "queued",
    "queued": "queued",
    "build_in_progress": "building",
    "pre_deploy_in_progress": "deploying",
    "update_in_progress": "deploying",
    "live": "live",
    "deactivated": "stopped",
    "build_failed": "failed",
    "update_failed": "failed",
    "pre_deploy_failed": "failed",
    "canceled": "cancelled",
}

LOG_STREAMS: Final[Mapping[str, LogStream]] = {
    "build": "build",
    "app": "runtime",
    "request": "http",
}

RELEASES_VARIABLE: Final = "SHIPIT_RELEASES"
BOOKKEEPING: Final = frozenset({RELEASES_VARIABLE})


def deploy_state(status: str) -> DeployState:
    """shipit's state for a Render deploy status."""
    return DEPLOY_STATES.get(status, "deploying")


def newest_first(deploys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deploys sorted by creation time, newest first (the spec states no order)."""
    return sorted(deploys, key=lambda d: str(d.get("createdAt") or ""), reverse=True)


def repository(ref: str) -> str | None:
    """``registry/repository`` of an image reference (None if it does not parse)."""
    try:
        return parse_reference(ref).name
    except ConfigError:
        return None


def _tag(ref: str) -> str | None:
    try:
        return parse_reference(ref).tag
    except ConfigError:
        return None


def image_artifact(ref: str) -> Artifact:
    """An image artifact; ``digest`` is set when the reference is pinned (``@sha256:...``)."""
    _, _, digest = ref.partition("@")
    return Artifact(kind="image", ref=ref, digest=digest or None)


def deploy_artifact(deploy: Mapping[str, Any]) -> Artifact:
    """What a deploy ran: ``repository@sha`` from its image record, else a Render source build."""
    image = deploy.get("image")
    if isinstance(image, Mapping) and isinstance(image.get("ref"), str) and image["ref"]:
        ref = str(image["ref"])
        sha = image.get("sha")
        name = repository(ref)
        if isinstance(sha, str) and sha.startswith("sha256:") and name:
            return Artifact(kind="image", ref=f"{name}@{sha}", digest=sha, tag=_tag(ref))
        return image_artifact(ref)
    extra: dict[str, Any] = {"deploy": deploy.get("id")}
    commit = deploy.get("commit")
    if isinstance(commit, Mapping) and commit.get("id"):
        extra["commit"] = commit["id"]
    return Artifact(kind="source", ref=f"render-build:{deploy.get('id')}", extra=extra)


def same_image(deploy: Mapping[str, Any], artifact: Artifact) -> bool | None:
    """Whether a deploy ran ``artifact`` (None when the deploy does not say yet)."""
    image = deploy.get("image")
    if not isinstance(image, Mapping):
        return None
    sha = image.get("sha")
    if artifact.digest and isinstance(sha, str) and sha:
        return sha == artifact.digest
    ref = image.get("ref")
    if isinstance(ref, str) and ref:
        if artifact.digest:
            return ref.endswith("@" + artifact.digest)
        return ref == artifact.ref
    return None


def to_release(deploy: Mapping[str, Any], *, service: str, names: Mapping[str, str]) -> Release:
    """A Render deploy as a shipit Release."""
    artifact = deploy_artifact(deploy)
    status = str(deploy.get("status") or "")
    return Release(
        id=str(deploy["id"]),
        service=service,
        artifact=artifact,
        created_at=parse_time(deploy.get("createdAt")) or datetime.fromtimestamp(0, UTC),
        name=names.get(artifact_key(artifact)),
        live=status in LIVE,
        state=deploy_state(status),
        extra={"status": status, "trigger": deploy.get("trigger")},
    )


def labels(entry: Mapping[str, Any]) -> dict[str, str]:
    """A log entry's labels as a dict (``[{name, value}]`` in the answer)."""
    found: dict[str, str] = {}
    for label in entry.get("labels") or []:
        if isinstance(label, Mapping) and isinstance(label.get("name"), str):
            found[str(label["name"])] = str(label.get("value", ""))
    return found


def to_log_line(entry: Mapping[str, Any], *, service: str) -> LogLine:
    """A Render log entry as a shipit LogLine (stream from its ``type`` label)."""
    tags = labels(entry)
    return LogLine(
        timestamp=parse_time(entry.get("timestamp")) or datetime.now(UTC),
        service=service,
        stream=LOG_STREAMS.get(tags.get("type", ""), "runtime"),
        message=str(entry.get("message", "")),
        level=tags.get("level") or None,
    )
