"""Fly.io's JSON answers as shipit's terms: machine states, checks, crashes, images, releases, logs.

Machine states follow the docs' ``machines/machine-states`` (API.md 4.2); checks and crash
signals follow API.md 4.5. Release bookkeeping lives in two places that both survive on Fly, so
release identity is recoverable on any machine: the GraphQL release record (``imageRef`` is the
exact digest-pinned ref shipit sent) and every machine's config ``metadata``
(``shipit_release``, ``shipit_deploy``), which Fly keeps per machine version.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from shipit.providers import timestamps
from shipit.providers.base import Artifact, DeployState, LogLine, LogStream, Release

# Machine states (API.md 4.2 "Machine states").
GONE: Final = frozenset({"destroyed", "destroying", "replaced", "migrated"})
BROKEN: Final = frozenset({"failed", "launch_failed", "destroyed", "destroying"})
MOVING: Final = frozenset(
    {"created", "creating", "starting", "updating", "replacing", "restarting", "stopping"}
)
# Groups flyctl keeps apart from the app's processes.
IGNORED_GROUPS: Final = frozenset({"fly_app_release_command", "fly_app_console"})
DEFAULT_GROUP: Final = "app"
IGNORED_CHECK_PREFIX: Final = "bg_deployments_compat"

# Machine metadata keys shipit writes (flyctl's own keys keep the dashboard and flyctl working).
META_GROUP: Final = "fly_process_group"
META_PLATFORM: Final = "fly_platform_version"
META_RELEASE_ID: Final = "fly_release_id"
META_RELEASE_VERSION: Final = "fly_release_version"
META_DEPLOY: Final = "shipit_deploy"
META_NAME: Final = "shipit_release"
META_RESTORED: Final = "shipit_restored_from"
META_CREATE: Final = "shipit_create"

RELEASE_DONE: Final = frozenset({"complete", "completed", "succeeded", "successful", "success"})
RELEASE_FAILED: Final = frozenset({"failed", "error"})
RELEASE_CANCELLED: Final = frozenset({"interrupted", "cancelled", "canceled"})

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


# ids and times ------------------------------------------------------------------------------
def ulid() -> str:
    """A new ULID (48-bit milliseconds + 80 random bits, Crockford base32), as Fly uses them."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def ulid_time(text: str | None) -> datetime | None:
    """The moment encoded in a ULID (machine versions are ULIDs), or None."""
    if not text or not _ULID.match(text.upper()):
        return None
    value = 0
    for char in text.upper()[:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return datetime.fromtimestamp(value / 1000, UTC)


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time (up to nanoseconds), or Unix milliseconds, as an aware datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, UTC)
    return timestamps.parse_time(value)


def nanoseconds(moment: datetime) -> int:
    """A datetime as Unix nanoseconds (the logs API's ``next_token``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


# machines -----------------------------------------------------------------------------------
def config_of(machine: Mapping[str, Any]) -> dict[str, Any] | None:
    """The machine's config, or None when its host is unreachable (never clone a partial one)."""
    if machine.get("host_status") not in {None, "ok"}:
        return None
    config = machine.get("config")
    return config if isinstance(config, dict) else None


def metadata_of(machine: Mapping[str, Any]) -> dict[str, str]:
    """The machine's config metadata (``{}`` when there is none)."""
    config = machine.get("config") or machine.get("incomplete_config") or {}
    metadata = config.get("metadata") if isinstance(config, Mapping) else None
    return {str(k): str(v) for k, v in (metadata or {}).items()}


def group_of(machine: Mapping[str, Any]) -> str:
    """The machine's process group (``app`` when it has none, as flyctl assumes)."""
    return metadata_of(machine).get(META_GROUP) or DEFAULT_GROUP


def in_group(machine: Mapping[str, Any], group: str) -> bool:
    """True for a machine that is not gone and belongs to ``group``."""
    if str(machine.get("state")) in GONE:
        return False
    found = group_of(machine)
    return found == group and found not in IGNORED_GROUPS


def image_of(machine: Mapping[str, Any]) -> str | None:
    """The image a machine runs, pinned by digest where Fly reports one (``image_ref``)."""
    config = config_of(machine) or machine.get("incomplete_config") or {}
    configured = config.get("image") if isinstance(config, Mapping) else None
    if isinstance(configured, str) and "@sha256:" in configured:
        return configured
    ref = machine.get("image_ref")
    if isinstance(ref, Mapping) and ref.get("repository"):
        registry = str(ref.get("registry") or "")
        name = f"{registry}/{ref['repository']}" if registry else str(ref["repository"])
        if ref.get("digest"):
            return f"{name}@{ref['digest']}"
        if ref.get("tag"):
            return f"{name}:{ref['tag']}"
    return configured if isinstance(configured, str) and configured else None


def digest_of(ref: str | None) -> str | None:
    """The ``sha256:...`` part of a pinned reference."""
    if not ref or "@" not in ref:
        return None
    return ref.rsplit("@", 1)[1] or None


def same_image(a: str | None, b: str | None) -> bool:
    """Two references name the same image: same digest when both are pinned, else same text."""
    if not a or not b:
        return False
    if digest_of(a) and digest_of(b):
        return digest_of(a) == digest_of(b)
    return a == b


def image_artifact(ref: str) -> Artifact:
    """An image artifact; ``digest`` is set when the reference is pinned."""
    return Artifact(kind="image", ref=ref, digest=digest_of(ref))


def has_checks(config: Mapping[str, Any] | None) -> bool:
    """True when the config defines machine or service checks (Fly then reports results)."""
    if not config:
        return False
    if config.get("checks"):
        return True
    return any(service.get("checks") for service in config.get("services") or [])


def checks(machine: Mapping[str, Any]) -> tuple[str, str]:
    """``("passing" | "waiting" | "critical", detail)`` for the machine's health checks.

    Fly's fake compatibility checks are ignored; with checks configured, passing needs at least
    one result and every result ``passing`` (API.md 4.5).
    """
    results = [
        c
        for c in machine.get("checks") or []
        if isinstance(c, Mapping) and not str(c.get("name", "")).startswith(IGNORED_CHECK_PREFIX)
    ]
    if not has_checks(config_of(machine)):
        return "passing", "no checks configured"
    if not results:
        return "waiting", "no check results yet"
    failing = [c for c in results if c.get("status") != "passing"]
    if not failing:
        return "passing", f"{len(results)} check(s) passing"
    first = failing[0]
    state = "critical" if first.get("status") == "critical" else "waiting"
    output = str(first.get("output") or "").strip().splitlines()
    detail = f"check {first.get('name')} {first.get('status')}"
    if output:
        detail += f": {output[0][:160]}"
    return state, detail


def last_exit(machine: Mapping[str, Any]) -> dict[str, Any] | None:
    """The newest exit of the machine's current version, from its events (newest first).

    Only exits after the newest ``launch``/``update`` event count. The answer has ``code``,
    ``requested``, ``restarting``, ``restarts`` and ``oom``.
    """
    for event in machine.get("events") or []:
        if not isinstance(event, Mapping):
            continue
        kind = str(event.get("type"))
        if kind in {"launch", "update"}:
            return None
        request = event.get("request")
        if kind != "exit" or not isinstance(request, Mapping):
            continue
        exit_event = request.get("exit_event")
        if not isinstance(exit_event, Mapping):
            continue
        return {
            "code": exit_event.get("exit_code"),
            "requested": bool(exit_event.get("requested_stop")),
            "restarting": bool(exit_event.get("restarting")),
            "restarts": int(request.get("restart_count") or 0),
            "oom": bool(exit_event.get("oom_killed")),
        }
    return None


def crash(machine: Mapping[str, Any]) -> str | None:
    """Why the machine's current version is crashing; None when it is not.

    Like flyctl's smoke check (API.md 4.5): an exit that was not requested, non-zero, and either
    not restarting any more or restarted more than once.
    """
    found = last_exit(machine)
    if found is None or found["requested"] or found["code"] in (None, 0):
        return None
    code, restarts = found["code"], found["restarts"]
    if found["oom"]:
        return f"the process was killed for running out of memory (exit code {code})"
    if not found["restarting"] or restarts > 1:
        return f"the app appears to be crashing (exit code {code}, {restarts} restart(s))"
    return None


# releases -----------------------------------------------------------------------------------
def release_state(status: str, *, live: bool) -> DeployState:
    """shipit's state for a Fly release status (``complete`` ones that are not live: stopped)."""
    folded = status.casefold()
    if folded in RELEASE_FAILED:
        return "failed"
    if folded in RELEASE_CANCELLED:
        return "cancelled"
    if folded in RELEASE_DONE:
        return "live" if live else "stopped"
    return "live" if live else "deploying"


def to_release(node: Mapping[str, Any], *, service: str, live: bool, name: str | None) -> Release:
    """A GraphQL release record as a shipit Release."""
    ref = str(node.get("imageRef") or "")
    status = str(node.get("status") or "")
    return Release(
        id=str(node["id"]),
        service=service,
        artifact=image_artifact(ref),
        created_at=parse_time(node.get("createdAt")) or datetime.fromtimestamp(0, UTC),
        name=name,
        live=live,
        state=release_state(status, live=live),
        extra={"version": node.get("version"), "status": status, "source": "release"},
    )


def version_releases(
    versions: Iterable[Mapping[str, Any]], *, service: str, live_image: str | None
) -> list[Release]:
    """Releases recovered from one machine's config versions (newest first), one per deploy.

    Used when the app has no release records. A deploy that shipit rolled back (a later
    version says ``shipit_restored_from`` it) is ``failed``.
    """
    rows: list[tuple[datetime, str, dict[str, Any]]] = []
    for item in versions:
        config = item.get("user_config")
        if not isinstance(config, Mapping) or not config.get("image"):
            continue
        when = ulid_time(str(item.get("version") or "")) or datetime.fromtimestamp(0, UTC)
        rows.append((when, str(item.get("version")), dict(config)))
    rows.sort(key=lambda row: (row[0], row[1]), reverse=True)
    restored = {
        str((c.get("metadata") or {}).get(META_RESTORED))
        for _, _, c in rows
        if (c.get("metadata") or {}).get(META_RESTORED)
    }
    releases: list[Release] = []
    seen: set[str] = set()
    for when, version, config in rows:
        metadata = {str(k): str(v) for k, v in (config.get("metadata") or {}).items()}
        if metadata.get(META_RESTORED):
            continue  # a restore repeats an earlier release; not a release of its own
        key = metadata.get(META_DEPLOY) or version
        if key in seen:
            continue
        seen.add(key)
        image = str(config["image"])
        failed = key in restored
        live = not releases and not failed and same_image(image, live_image)
        state: DeployState = "failed" if failed else ("live" if live else "stopped")
        releases.append(
            Release(
                id=key,
                service=service,
                artifact=image_artifact(image),
                created_at=when,
                name=metadata.get(META_NAME) or None,
                live=live,
                state=state,
                extra={"version": version, "source": "machine versions"},
            )
        )
    return releases


# logs ---------------------------------------------------------------------------------------
def to_log_line(entry: Mapping[str, Any], *, service: str) -> LogLine:
    """One entry of the logs API (JSON:API ``{"id", "attributes": {...}}``) as a LogLine."""
    attributes = entry.get("attributes") if isinstance(entry.get("attributes"), Mapping) else entry
    assert isinstance(attributes, Mapping)
    meta = attributes.get("meta") if isinstance(attributes.get("meta"), Mapping) else {}
    provider = ""
    if isinstance(meta, Mapping) and isinstance(meta.get("event"), Mapping):
        provider = str(meta["event"].get("provider") or "")
    stream: LogStream = "http" if provider == "proxy" else "runtime"
    level = attributes.get("level")
    return LogLine(
        timestamp=parse_time(attributes.get("timestamp")) or datetime.now(UTC),
        service=service,
        stream=stream,
        message=str(attributes.get("message", "")),
        release=str(attributes["instance"]) if attributes.get("instance") else None,
        level=str(level) if level else None,
    )
