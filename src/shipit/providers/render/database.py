"""Render Postgres for link_db: find or create the environment's database, wait, read its URL.

Render has no "attach database" call (a Blueprint's ``fromDatabase`` has no REST equivalent), so
the adapter writes ``DATABASE_URL`` itself from the database's internal connection string
(``postgresql://USER:PASSWORD@dpg-...-a/DB``: reachable from services in the same region and
workspace). The database is called ``<name_prefix><project>-db`` and is looked up by that name in
the workspace before one is created (``POST /postgres``, never retried: 20 per hour). A new
database reports ``unknown``, then ``creating``, then ``available`` (API.md section 5).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from shipit.errors import ProviderAPIError
from shipit.providers.render import operations as ops
from shipit.providers.render.client import RenderClient
from shipit.sensitive import Secret

PLAN: Final = "basic_256mb"
VERSION: Final = "16"
WAIT_SECONDS: Final = 20 * 60.0
FIRST_POLL: Final = 1.0
MAX_POLL: Final = 5.0
STARTING: Final = frozenset({"unknown", "creating", "updating_instance", "config_restart"})


@dataclass(frozen=True)
class Postgres:
    """A database found or created, and its internal connection string."""

    id: str
    name: str
    created: bool
    url: Secret
    detail: dict[str, Any]


class PostgresLinker:
    """Finds or creates one Render Postgres and returns its internal connection string."""

    def __init__(
        self,
        api: RenderClient,
        *,
        owner_id: str,
        region: str,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self.api = api
        self.owner_id = owner_id
        self.region = region
        self.sleep = sleep
        self.clock = clock
        self.wait_seconds = wait_seconds

    def ensure(self, name: str) -> Postgres:
        """The database called ``name``: reused when it exists, else created; then available."""
        found = self.find(name)
        created = found is None
        if found is None:
            found = self.api.call(
                ops.CREATE_POSTGRES,
                body={
                    "name": name,
                    "ownerId": self.owner_id,
                    "plan": PLAN,
                    "version": VERSION,
                    "region": self.region,
                },
            )
            if not isinstance(found, dict) or not found.get("id"):
                raise ProviderAPIError("render", "the Postgres create answer has no id")
        detail = self.wait(str(found["id"]), found)
        info = self.api.call(ops.POSTGRES_CONNECTION_INFO, path={"postgresId": str(found["id"])})
        internal = (info or {}).get("internalConnectionString")
        if not isinstance(internal, str) or not internal:
            raise ProviderAPIError(
                "render", f"Render gave no internal connection string for Postgres {name!r}"
            )
        return Postgres(str(found["id"]), name, created, Secret(internal), detail)

    def find(self, name: str) -> dict[str, Any] | None:
        """The workspace's (primary) database called exactly ``name``."""
        params = {"name": name, "ownerId": self.owner_id, "includeReplicas": False}
        for database in self.api.pages(ops.LIST_POSTGRES, "postgres", params=params):
            if database.get("name") == name:
                return database
        return None

    def wait(self, postgres_id: str, detail: dict[str, Any]) -> dict[str, Any]:
        """Poll (1 s, doubling to 5 s) until ``available``; errors for states it will not leave."""
        deadline = self.clock() + self.wait_seconds
        pause = FIRST_POLL
        while True:
            status = str(detail.get("status") or "unknown")
            if status == "available":
                return detail
            if status not in STARTING:
                hint = "check the database in the Render Dashboard"
                if status == "suspended" or detail.get("suspended") == "suspended":
                    hint = "resume the database in the Render Dashboard, then deploy again"
                raise ProviderAPIError(
                    "render",
                    f"Postgres {detail.get('name', postgres_id)!r} is {status}, not available",
                    hint=hint,
                )
            if self.clock() >= deadline:
                raise ProviderAPIError(
                    "render",
                    f"Postgres {detail.get('name', postgres_id)!r} is still {status} after "
                    f"{self.wait_seconds:g}s",
                    hint="run the deploy again once the database is available",
                )
            self.sleep(pause)
            pause = min(pause * 2, MAX_POLL)
            answer = self.api.call(ops.RETRIEVE_POSTGRES, path={"postgresId": postgres_id})
            detail = answer if isinstance(answer, dict) else {}
