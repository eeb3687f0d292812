"""Whether a Fly Managed Postgres cluster has backups: its backup list as a BackupStatus.

``GET /v1/postgres/{id}/backups`` (``Postgres_backups_list``) is in the Machines OpenAPI spec
(``listPostgresBackupsResponse``: ``{"data": [PostgresBackup]}``, each ``{id, status, type,
started_at, finished_at, size_bytes}``, ``status`` e.g. ``completed``), so requests are checked
against it. No answer of it was recorded, so both ``{"data": [...]}`` and a bare list are
accepted (any other shape is an error, not "no backups"), and a backup counts as done when its
status says so (or, without a status, when it has finished).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from shipit.errors import ProviderAPIError
from shipit.providers.base import BackupStatus
from shipit.providers.fly import operations as ops
from shipit.providers.fly.client import FlyClient
from shipit.providers.timestamps import parse_time

DONE: Final = frozenset({"completed", "complete", "succeeded", "success", "done", "finished"})


def backup_status(api: FlyClient, cluster: Mapping[str, Any]) -> BackupStatus:
    """List the cluster's backups and say whether a completed one exists, and when."""
    answer = api.rest(ops.POSTGRES_BACKUPS, cluster=str(cluster["id"]))
    return to_backup_status(backups_of(answer), cluster)


def backups_of(answer: Any) -> list[Mapping[str, Any]]:
    """The backup objects of an answer: ``{"data": [...]}`` or a bare list; else an error."""
    items = answer.get("data") if isinstance(answer, Mapping) else answer
    if not isinstance(items, list):
        raise ProviderAPIError(
            "fly", "the Managed Postgres backup list has an unexpected shape; backups unknown"
        )
    return [item for item in items if isinstance(item, Mapping)]


def is_done(backup: Mapping[str, Any]) -> bool:
    """A backup that finished successfully."""
    status = backup.get("status")
    if isinstance(status, str) and status:
        return status.casefold() in DONE
    return parse_time(backup.get("finished_at")) is not None


def to_backup_status(backups: list[Mapping[str, Any]], cluster: Mapping[str, Any]) -> BackupStatus:
    """Backups of ``cluster`` as a BackupStatus: enabled when at least one completed."""
    name = str(cluster.get("name") or cluster.get("id"))
    done = [b for b in backups if is_done(b)]
    times = [t for b in done if (t := _finished(b)) is not None]
    latest = max(times) if times else None
    extra = {
        "cluster": cluster.get("id"),
        "name": name,
        "cluster_status": cluster.get("status"),
        "backups": len(backups),
        "completed": len(done),
    }
    if done:
        detail = f"{len(done)} completed backup{'s' if len(done) != 1 else ''}"
        return BackupStatus(True, detail, latest=latest, extra=extra)
    if backups:
        states = sorted({str(b.get("status") or "unknown") for b in backups})
        detail = f"no completed backup of Managed Postgres {name!r} ({', '.join(states)})"
    else:
        detail = f"no backups of Managed Postgres {name!r}"
    return BackupStatus(False, detail, extra=extra)


def _finished(backup: Mapping[str, Any]) -> datetime | None:
    return parse_time(backup.get("finished_at")) or parse_time(backup.get("started_at"))
