"""Railway's JSON answers as shipit's results: deployment states, artifacts, releases, log lines.

Railway keeps no free-form text per deployment, so two small JSON objects in service variables
make release identity recoverable on any machine: ``SHIPIT_RELEASES`` maps an artifact key (the
image digest, else the reference) to its release name, and ``SHIPIT_IMAGES`` maps a deployment id
to the image it ran, written only when Railway's deployment ``meta`` does not name the image
(the notes found ``meta.image`` only in a third-party report).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from shipit.providers.base import Artifact, DeployState, LogLine, LogStream, Release
from shipit.providers.bookkeeping import artifact_key
from shipit.providers.timestamps import parse_time

# The schema's DeploymentStatus enum, grouped by what shipit does with each value (API.md 3.5).
IN_PROGRESS: Final = frozenset(
    {"INITIALIZING", "QUEUED", "WAITING", "BUILDING", "DEPLOYING", "NEEDS_APPROVAL"}
)
LIVE: Final = frozenset({"SUCCESS", "SLEEPING"})
FAILED: Final = frozenset({"FAILED", "CRASHED"})
ENDED: Final = frozenset({"REMOVING", "REMOVED", "SKIPPED"})
CANCELLABLE: Final = frozenset({"INITIALIZING", "QUEUED", "WAITING", "BUILDING", "NEEDS_APPROVAL"})

DEPLOY_STATES: Final[Mapping[str, DeployState]] = {
    "INITIALIZING": "queued",
    "QUEUED": "queued",
    "WAITING": "queued",
    "NEEDS_APPROVAL": "queued",
    "BUILDING": "building",
    "DEPLOYING": "deploying",
    "SUCCESS": "live",
    "SLEEPING": "live",
    "FAILED": "failed",
    "CRASHED": "failed",
    "REMOVING": "stopped",
    "REMOVED": "stopped",
    "SKIPPED": "cancelled",
}

RELEASES_VARIABLE: Final = "SHIPIT_RELEASES"
IMAGES_VARIABLE: Final = "SHIPIT_IMAGES"
BOOKKEEPING: Final = frozenset({RELEASES_VARIABLE, IMAGES_VARIABLE})
_FRACTION = re.compile(r"\.(\d+)")


def deploy_state(status: str, *, stopped: bool = False) -> DeployState:
    """shipit's state for a Railway DeploymentStatus (a live one whose process exited: stopped)."""
    state = DEPLOY_STATES.get(status, "deploying")
    if state == "live" and stopped:
        return "stopped"
    return state


def time_key(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time, for ordering and dedupe of log lines."""
    parsed = parse_time(text)
    if parsed is None:
        return 0
    match = _FRACTION.search(text)
    nanos = int(match.group(1)[:9].ljust(9, "0")) if match else 0
    return int(parsed.replace(microsecond=0).timestamp()) * 1_000_000_000 + nanos


def edges(connection: Any) -> list[dict[str, Any]]:
    """The nodes of a Relay connection (``{edges: [{node: ...}]}``)."""
    if not isinstance(connection, Mapping):
        return []
    found = []
    for edge in connection.get("edges") or []:
        node = edge.get("node") if isinstance(edge, Mapping) else None
        if isinstance(node, dict):
            found.append(node)
    return found


def meta_image(meta: Any) -> str | None:
    """The image a deployment ran, from its untyped ``meta`` (key ``image``), if recorded."""
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            return None
    if not isinstance(meta, Mapping):
        return None
    image = meta.get("image")
    if isinstance(image, str) and image:
        return image
    source = meta.get("source")
    if isinstance(source, Mapping) and isinstance(source.get("image"), str):
        return str(source["image"])
    return None


def image_artifact(ref: str) -> Artifact:
    """An image artifact; ``digest`` is set when the reference is pinned (``@sha256:...``)."""
    _, _, digest = ref.partition("@")
    return Artifact(kind="image", ref=ref, digest=digest or None)


def deployment_artifact(node: Mapping[str, Any], fallback_image: str | None = None) -> Artifact:
    """What a deployment ran: its image, else a Railway source build (not promotable)."""
    image = meta_image(node.get("meta")) or fallback_image
    if image:
        return image_artifact(image)
    raw = node.get("meta")
    meta: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    extra = {"deployment": node.get("id")}
    if meta.get("commitHash"):
        extra["commit"] = meta["commitHash"]
    return Artifact(kind="source", ref=f"railway-build:{node.get('id')}", extra=extra)


def to_release(
    node: Mapping[str, Any],
    *,
    service: str,
    live: bool,
    names: Mapping[str, str],
    fallback_image: str | None = None,
) -> Release:
    """A Railway deployment as a shipit Release."""
    artifact = deployment_artifact(node, fallback_image)
    return Release(
        id=str(node["id"]),
        service=service,
        artifact=artifact,
        created_at=parse_time(node.get("createdAt")) or datetime.fromtimestamp(0, UTC),
        name=names.get(artifact_key(artifact)),
        live=live,
        state=deploy_state(str(node.get("status")), stopped=bool(node.get("deploymentStopped"))),
        extra={"status": node.get("status"), "can_rollback": node.get("canRollback")},
    )


def live_id(nodes: Iterable[Mapping[str, Any]]) -> str | None:
    """The deployment serving now: the newest successful one whose process still runs."""
    for node in sorted(nodes, key=lambda n: str(n.get("createdAt") or ""), reverse=True):
        if node.get("status") in LIVE and not node.get("deploymentStopped"):
            return str(node["id"])
    return None


def to_log_line(node: Mapping[str, Any], *, service: str, stream: LogStream) -> LogLine:
    """A Railway ``Log`` as a shipit LogLine."""
    tags = node.get("tags") if isinstance(node.get("tags"), Mapping) else {}
    severity = node.get("severity")
    return LogLine(
        timestamp=parse_time(node.get("timestamp")) or datetime.now(UTC),
        service=service,
        stream=stream,
        message=str(node.get("message", "")),
        release=tags.get("deploymentId") if tags else None,
        level=str(severity) if severity else None,
    )
