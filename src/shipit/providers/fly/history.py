"""Release history of a process group, recovered from Fly itself so any machine can roll back.

Each deploy records a GraphQL release (``createRelease`` with the digest-pinned image, then
``updateRelease`` with its status; the ``releasesUnprocessed`` view flyctl reads has no metadata,
so release names are not kept there) and stamps ``shipit_release``/``shipit_deploy`` on every
machine's config metadata, which Fly keeps per machine version. Reading the history:

- the release records, newest first, give image, time and status; in an app with several
  process groups only records whose image the group's machines have run are the group's;
- names come from the machines' config versions (by image digest);
- a deploy that shipit rolled back (a later config version says ``shipit_restored_from`` it)
  is ``failed`` even when its record's status could not be written;
- the live release is the newest non-failed record whose image the group's machines run now; the
  machines are the truth, so when no record matches, a release is made from the machine itself;
- with no records at all (the release API refused or unavailable), the history is rebuilt from
  the config versions of the group's first machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from shipit.errors import AuthError, ProviderAPIError
from shipit.providers.base import Release
from shipit.providers.fly import operations as ops
from shipit.providers.fly import parse
from shipit.providers.fly.client import FlyClient
from shipit.providers.fly.machines import Machines

RECORDS: Final = 50
STRATEGY: Final = "ROLLING"


class History:
    """Writes release records for deploys and reads a group's releases back."""

    def __init__(self, api: FlyClient, machines: Machines, app: str) -> None:
        self.api = api
        self.machines = machines
        self.app = app

    # writing ------------------------------------------------------------------------------
    def record(
        self, *, image: str, group: str, name: str | None, deploy_id: str
    ) -> tuple[str, int] | None:
        """Create the release record of a deploy; None when Fly refuses it (bookkeeping only)."""
        try:
            data = self.api.call(
                ops.CREATE_RELEASE,
                input={
                    "appId": self.app,
                    "image": image,
                    "definition": {},
                    "platformVersion": "machines",
                    "strategy": STRATEGY,
                },
            )
            release = data["createRelease"]["release"]
            release_id, version = str(release["id"]), int(release["version"])
        except (ProviderAPIError, KeyError, TypeError, ValueError):
            return None
        metadata = {"shipit": {"service": group, "release": name, "deploy": deploy_id}}
        self.finish(release_id, "running", metadata=metadata)  # for people; not read back
        return release_id, version

    def finish(
        self, release_id: str, status: str, *, metadata: Mapping[str, Any] | None = None
    ) -> None:
        """Set a release record's status (and metadata); failures are ignored."""
        update: dict[str, Any] = {"releaseId": release_id, "status": status}
        if metadata is not None:
            update["metadata"] = dict(metadata)
        with contextlib.suppress(ProviderAPIError):
            self.api.call(ops.UPDATE_RELEASE, input=update)

    def pin(self, ref: str) -> str | None:
        """The digest-pinned form of a tag ``ref`` as the platform knows it, or None."""
        try:
            data = self.api.call(ops.RESOLVE_IMAGE, appName=self.app, ref=ref)
        except ProviderAPIError:
            return None
        image = (data.get("app") or {}).get("image") or {}
        digest = image.get("digest")
        if not digest:
            return None
        registry, repository = image.get("registry"), image.get("repository")
        if repository:
            name = f"{registry}/{repository}" if registry else str(repository)
        else:
            name = ref.split("@", 1)[0].rsplit(":", 1)[0] if ":" in ref.split("/")[-1] else ref
        return f"{name}@{digest}"

    # reading ------------------------------------------------------------------------------
    def releases(self, service: str, group: str) -> list[Release]:
        """The group's releases, newest first; the live one has ``live=True``."""
        machines = self.machines.group(group)
        live_image = _live_image(machines)
        versions = self._versions(machines) if machines else []
        records = self._records()
        if not _only_group(self.machines.all(), group):
            known = {_key(str((v.get("user_config") or {}).get("image") or "")) for v in versions}
            records = [n for n in records if _key(str(n.get("imageRef") or "")) in known]
        if not records:
            return parse.version_releases(versions, service=service, live_image=live_image)
        names = _names_by_image(versions)
        failed_images = _rolled_back_images(versions)
        found: list[Release] = []
        live_taken = False
        for node in sorted(records, key=_version, reverse=True):
            image = str(node.get("imageRef") or "")
            status = str(node.get("status") or "").casefold()
            failed = status in parse.RELEASE_FAILED or (
                status not in parse.RELEASE_DONE and _key(image) in failed_images
            )
            live = not live_taken and not failed and parse.same_image(image, live_image)
            live_taken = live_taken or live
            release = parse.to_release(
                node, service=service, live=live, name=names.get(_key(image))
            )
            found.append(_failed(release) if failed and release.state != "failed" else release)
        if live_image and not live_taken:
            found.insert(0, _from_machine(machines, live_image, service))
        return found

    def _records(self) -> list[dict[str, Any]]:
        try:
            data = self.api.call(ops.APP_RELEASES, appName=self.app, limit=RECORDS)
        except AuthError:
            raise
        except ProviderAPIError:
            return []  # the machines still say what runs; versions give the history
        app = data.get("app") or {}
        nodes = (app.get("releasesUnprocessed") or {}).get("nodes") or []
        return [n for n in nodes if isinstance(n, dict) and n.get("id")]

    def _versions(self, machines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        try:
            return self.machines.versions(str(machines[0]["id"]))
        except ProviderAPIError:
            return []


def _key(image: str) -> str:
    """How images are compared: by digest when pinned, else by the reference."""
    return parse.digest_of(image) or image


def _only_group(machines: Sequence[Mapping[str, Any]], group: str) -> bool:
    """True when every machine of the app belongs to ``group`` (records are then all its)."""
    return all(parse.group_of(m) == group for m in machines)


def _version(node: Mapping[str, Any]) -> int:
    try:
        return int(node.get("version") or 0)
    except (TypeError, ValueError):
        return 0


def _live_image(machines: Sequence[Mapping[str, Any]]) -> str | None:
    """The image most of the group's machines run (they differ only mid-rollout)."""
    counts: dict[str, int] = {}
    for machine in machines:
        image = parse.image_of(machine)
        if image:
            counts[image] = counts.get(image, 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda image: counts[image])


def _names_by_image(versions: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Release names stamped on machine config versions, by image digest (newest wins)."""
    names: dict[str, str] = {}
    for item in sorted(versions, key=lambda v: str(v.get("version") or "")):
        config = item.get("user_config") or {}
        name = (config.get("metadata") or {}).get(parse.META_NAME)
        image = config.get("image")
        if name and image:
            names[_key(str(image))] = str(name)
    return names


def _rolled_back_images(versions: Sequence[Mapping[str, Any]]) -> set[str]:
    """Images of deploys that shipit rolled back (a later config restored from them)."""
    restored: set[str] = set()
    images: dict[str, str] = {}
    for item in versions:
        config = item.get("user_config") or {}
        metadata = config.get("metadata") or {}
        if metadata.get(parse.META_RESTORED):
            restored.add(str(metadata[parse.META_RESTORED]))
        elif metadata.get(parse.META_DEPLOY) and config.get("image"):
            images[str(metadata[parse.META_DEPLOY])] = _key(str(config["image"]))
    return {images[deploy] for deploy in restored if deploy in images}


def _failed(release: Release) -> Release:
    return Release(
        id=release.id,
        service=release.service,
        artifact=release.artifact,
        created_at=release.created_at,
        name=release.name,
        live=False,
        state="failed",
        extra={**release.extra, "rolled_back": True},
    )


def _from_machine(machines: Sequence[Mapping[str, Any]], image: str, service: str) -> Release:
    """The live release as the machines show it (when no record names their image)."""
    machine = next(m for m in machines if parse.image_of(m) == image)
    metadata = parse.metadata_of(machine)
    when = parse.parse_time(machine.get("updated_at")) or datetime.now(UTC)
    return Release(
        id=metadata.get(parse.META_DEPLOY) or str(machine.get("instance_id") or machine["id"]),
        service=service,
        artifact=parse.image_artifact(image),
        created_at=when,
        name=metadata.get(parse.META_NAME) or None,
        live=True,
        state="live",
        extra={"source": "machine", "machine": machine.get("id")},
    )
