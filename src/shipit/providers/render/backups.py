"""Whether a Render Postgres has backups: its point-in-time recovery status as a BackupStatus.

Render backs up paid Postgres continuously and reports it as point-in-time recovery
(``GET /postgres/{postgresId}/recovery``, operation ``retrieve-postgres-recovery-info``):
``recoveryStatus`` is ``AVAILABLE`` (``startsAt``: the earliest time it can restore to),
``BACKUP_NOT_READY`` (recovery is on, the first backup is still being taken) or
``NOT_AVAILABLE`` (no recovery: the free plan has none). Render names no "latest backup" time,
so ``latest`` stays None; the window's start is in ``extra["recovery_from"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from shipit.providers.base import BackupStatus
from shipit.providers.render import operations as ops
from shipit.providers.render.client import RenderClient
from shipit.providers.timestamps import parse_time

FREE_PLAN: Final = "free"


def backup_status(api: RenderClient, database: Mapping[str, Any]) -> BackupStatus:
    """Read the recovery status of ``database`` (a Postgres object) and translate it."""
    answer = api.call(ops.POSTGRES_RECOVERY, path={"postgresId": str(database["id"])})
    return to_backup_status(answer if isinstance(answer, Mapping) else {}, database)


def to_backup_status(answer: Mapping[str, Any], database: Mapping[str, Any]) -> BackupStatus:
    """A recovery answer (``{recoveryStatus, startsAt?}``) of ``database`` as a BackupStatus."""
    status = str(answer.get("recoveryStatus") or "unknown")
    plan = str(database.get("plan") or "unknown")
    since = parse_time(answer.get("startsAt"))
    extra = {
        "postgres_id": database.get("id"),
        "name": database.get("name"),
        "plan": plan,
        "recovery_status": status,
        "recovery_from": since,
    }
    if status == "AVAILABLE":
        window = f" back to {since.isoformat(timespec='seconds')}" if since else ""
        detail = f"point-in-time recovery available{window}"
        return BackupStatus(True, detail, extra=extra)
    if status == "BACKUP_NOT_READY":
        detail = "point-in-time recovery is on; the first backup is not ready yet"
        return BackupStatus(True, detail, extra=extra)
    if plan == FREE_PLAN:
        detail = "no point-in-time recovery: the free plan has no backups"
    else:
        detail = f"point-in-time recovery is not available (Render says {status}, plan {plan})"
    return BackupStatus(False, detail, extra=extra)
