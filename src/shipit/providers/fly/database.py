"""Managed Postgres for a Fly app: find or create the cluster, then write DATABASE_URL as a secret.

The flow is flyctl's ``mpg create`` + ``mpg attach`` over the Machines API (API.md 4.4): the
cluster is named ``<app>-db`` in the app's org (its real slug: MPG does not take ``personal``),
created on the ``basic`` plan in the app's region, and polled until ``ready``. The app gets
``DATABASE_URL`` = ``postgresql://fly-user:<password>@<pooler host>/fly-db`` written by shipit
as an app secret; the attachment call is bookkeeping only (whether Fly also writes a secret is
unverified, so shipit's own write comes last and wins). A ``DATABASE_URL`` secret that already
exists is kept: it may point at a database shipit does not manage.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import quote

from shipit.errors import ProviderAPIError
from shipit.providers.base import DatabaseLink
from shipit.providers.fly import operations as ops
from shipit.providers.fly.apps import Apps
from shipit.providers.fly.client import FlyClient
from shipit.providers.fly.vault import Vault
from shipit.sensitive import Secret

VARIABLE: Final = "DATABASE_URL"
PLAN: Final = "basic"
USER: Final = "fly-user"
DATABASE: Final = "fly-db"
PG_VERSION: Final = "17"
DEFAULT_PORT: Final = 5432
READY_TIMEOUT: Final = 15 * 60.0
FIRST_PAUSE: Final = 2.0
MAX_PAUSE: Final = 30.0
GONE: Final = frozenset({"deleting", "deleted"})
BROKEN: Final = frozenset({"failed", "error"})


def connection_url(credentials: Mapping[str, Any], cluster: Mapping[str, Any]) -> Secret:
    """The pooled connection URL, as flyctl's ``mpgutil.ConnectionURI`` builds it."""
    endpoints = cluster.get("endpoints") or {}
    primary = endpoints.get("primary") or {}
    node = primary.get("pooler") or primary.get("direct") or {}
    host = node.get("host")
    if not host:
        raise ProviderAPIError("fly", "the Postgres cluster reports no endpoint to connect to")
    port = node.get("port")
    where = f"{host}:{port}" if port and int(port) != DEFAULT_PORT else str(host)
    user = quote(str(credentials.get("username") or USER), safe="")
    password = Secret(str(credentials.get("password") or ""))
    text = f"postgresql://{user}:{quote(password.reveal(), safe='')}@{where}/{DATABASE}"
    return Secret(text)


class PostgresLinker:
    """Links one app to its Managed Postgres cluster."""

    def __init__(
        self,
        api: FlyClient,
        apps: Apps,
        vault: Vault,
        *,
        region: str,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.apps = apps
        self.vault = vault
        self.region = region
        self.sleep = sleep
        self.clock = clock

    @property
    def cluster_name(self) -> str:
        """The name shipit gives the app's cluster."""
        return f"{self.apps.name}-db"

    def link(self) -> DatabaseLink:
        """Reuse the existing DATABASE_URL, or find/create the cluster and write it."""
        if VARIABLE in self.vault.digests():
            return DatabaseLink(
                kind="postgres",
                variable=VARIABLE,
                created=False,
                written=False,
                description=f"{VARIABLE} is already an app secret (kept)",
            )
        org = self.apps.raw_org()
        found = self._find(org)
        created = found is None
        cluster_id = str(found["id"]) if found else self._create(org)
        cluster = self._wait_ready(cluster_id)
        answer = self.api.rest(
            ops.POSTGRES_CREDENTIALS, cluster=cluster_id, user=USER, hide_body=True
        )
        credentials = (answer or {}).get("data") or {}
        url = connection_url(credentials, cluster)
        attached = self._attach(cluster_id)
        self.vault.write({VARIABLE: url})
        verb = "created" if created else "reused"
        note = "" if attached else " (the attachment record failed; the secret is set)"
        return DatabaseLink(
            kind="postgres",
            variable=VARIABLE,
            created=created,
            written=True,
            description=f"{verb} Managed Postgres {self.cluster_name!r}; {VARIABLE} set{note}",
            extra={"cluster": cluster_id, "name": self.cluster_name},
        )

    def find(self) -> dict[str, Any] | None:
        """The app's cluster (named ``<app>-db`` or attached to the app), or None."""
        return self._find(self.apps.raw_org())

    def _find(self, org: str) -> dict[str, Any] | None:
        answer = self.api.rest(ops.POSTGRES_CLUSTERS, params={"org_slug": org}) or {}
        for cluster in answer.get("data") or []:
            if not isinstance(cluster, dict) or str(cluster.get("status")) in GONE:
                continue
            attached = {str(a.get("name")) for a in cluster.get("attached_apps") or [] if a}
            if cluster.get("name") == self.cluster_name or self.apps.name in attached:
                return cluster
        return None

    def _create(self, org: str) -> str:
        body = {
            "org_slug": org,
            "plan": PLAN,
            "region": self.region,
            "name": self.cluster_name,
            "pg_major_version": PG_VERSION,
        }
        answer = self.api.rest(ops.CREATE_POSTGRES, body=body) or {}
        cluster = answer.get("data") or {}
        if not cluster.get("id"):
            raise ProviderAPIError("fly", "the Postgres create answer has no cluster id")
        return str(cluster["id"])

    def _wait_ready(self, cluster_id: str) -> dict[str, Any]:
        deadline = self.clock() + READY_TIMEOUT
        pause = FIRST_PAUSE
        while True:
            answer = self.api.rest(ops.POSTGRES_CLUSTER, cluster=cluster_id) or {}
            cluster = answer.get("data") or {}
            status = str(cluster.get("status"))
            if status == "ready":
                return dict(cluster)
            if status in BROKEN or status in GONE:
                raise ProviderAPIError(
                    "fly",
                    f"Managed Postgres {self.cluster_name!r} is {status}",
                    hint="see the cluster in the Fly dashboard (`fly mpg status`)",
                )
            if self.clock() + pause > deadline:
                raise ProviderAPIError(
                    "fly",
                    f"Managed Postgres {self.cluster_name!r} was not ready after "
                    f"{READY_TIMEOUT / 60:g} minutes (status {status})",
                    hint="run the command again later; the cluster keeps starting",
                )
            self.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)

    def _attach(self, cluster_id: str) -> bool:
        try:
            self.api.rest(
                ops.ATTACH_POSTGRES, cluster=cluster_id, body={"app_name": self.apps.name}
            )
        except ProviderAPIError as error:
            if error.status == 410:
                raise ProviderAPIError(
                    "fly",
                    f"Managed Postgres {self.cluster_name!r} is being deleted",
                    status=410,
                    hint="wait until it is gone, then run the command again to create a new one",
                ) from None
            return False
        return True
