"""Railway Postgres for a service: reuse the environment's Postgres service or deploy the template.

The flow follows the Railway CLI's ``railway add --database postgres`` (API.md 3.4): read the
``postgres`` template, fill each variable's value from its default, deploy it into the target
environment, wait for the workflow, find the new service, then give the app
``DATABASE_URL=${{<service>.DATABASE_URL}}``, a reference Railway resolves per environment at
deploy time (so no password passes through shipit).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Final

from shipit.errors import AuthError, ProviderAPIError
from shipit.http import GraphQLResponseError
from shipit.providers.base import DatabaseLink
from shipit.providers.railway import operations as ops
from shipit.providers.railway.client import RailwayClient
from shipit.providers.railway.resolve import Resolver, Target

TEMPLATE_CODE: Final = "postgres"
VARIABLE: Final = "DATABASE_URL"
WORKFLOW_POLLS: Final = 120
WORKFLOW_INTERVAL: Final = 1.0


def reference(service_name: str) -> str:
    """The reference variable that points a service at Postgres's DATABASE_URL."""
    return "${{" + service_name + "." + VARIABLE + "}}"


def fill_template(config: Any) -> dict[str, Any]:
    """The template's serializedConfig with every variable's ``value`` set from its default.

    Everything else passes through unchanged (typed round trips lose volume and replica settings).
    """
    if not isinstance(config, dict):
        raise ProviderAPIError("railway", "the postgres template has no serializedConfig")
    filled = copy.deepcopy(config)
    for service in (filled.get("services") or {}).values():
        for name, variable in (service.get("variables") or {}).items():
            if not isinstance(variable, dict) or variable.get("value") is not None:
                continue
            if variable.get("defaultValue") is not None:
                variable["value"] = variable["defaultValue"]
            elif not variable.get("isOptional"):
                raise ProviderAPIError(
                    "railway",
                    f"the postgres template needs a value for {name} that it does not default",
                    hint="add Postgres in the Railway dashboard, then run `shipit db link` again",
                )
    return filled


def is_postgres(name: str) -> bool:
    """True for the names Railway gives Postgres services (``Postgres``, ``Postgres-AbCd``)."""
    return name.casefold().startswith("postgres")


class PostgresLinker:
    """Attaches a Railway Postgres service to an app service in one environment."""

    def __init__(
        self,
        api: RailwayClient,
        resolver: Resolver,
        *,
        sleep: Callable[[float], None],
        interval: float = WORKFLOW_INTERVAL,
    ) -> None:
        self.api = api
        self.resolver = resolver
        self.sleep = sleep
        self.interval = interval

    def link(self, service_id: str) -> DatabaseLink:
        """Find or create Postgres, then write the DATABASE_URL reference on ``service_id``."""
        target = self.resolver.target()
        existing = self._existing(target)
        created = existing is None
        name = existing or self._create(target)
        self.api.call(
            ops.VARIABLE_COLLECTION_UPSERT,
            input={
                "projectId": target.project_id,
                "environmentId": target.environment_id,
                "serviceId": service_id,
                "variables": {VARIABLE: reference(name)},
                "skipDeploys": True,
            },
        )
        verb = "created" if created else "reused"
        return DatabaseLink(
            kind="postgres",
            variable=VARIABLE,
            created=created,
            written=True,
            description=f"{verb} Railway service {name!r}; {VARIABLE} = {reference(name)}",
            extra={"service": name, "reference": reference(name)},
        )

    def _existing(self, target: Target) -> str | None:
        """A Postgres service with an instance in this environment (deployed if it never was)."""
        for name, service_id in sorted(self.resolver.services().items()):
            if not is_postgres(name):
                continue
            try:
                instance = self.api.call(
                    ops.SERVICE_INSTANCE,
                    environmentId=target.environment_id,
                    serviceId=service_id,
                )["serviceInstance"]
            except GraphQLResponseError:
                continue  # the service has no instance in this environment
            if instance.get("latestDeployment") is None and (instance.get("source") or {}).get(
                "image"
            ):
                self.api.call(
                    ops.SERVICE_INSTANCE_DEPLOY,
                    environmentId=target.environment_id,
                    serviceId=service_id,
                )
            return name
        return None

    def _create(self, target: Target) -> str:
        """Deploy the postgres template into the environment; the new service's name."""
        before = set(self.resolver.services().values())
        template = self.api.call(ops.TEMPLATE, code=TEMPLATE_CODE)["template"]
        payload = self.api.call(
            ops.TEMPLATE_DEPLOY,
            input={
                "templateId": template["id"],
                "serializedConfig": fill_template(template.get("serializedConfig")),
                "projectId": target.project_id,
                "environmentId": target.environment_id,
            },
        )["templateDeployV2"]
        if payload.get("workflowId"):
            self._wait(str(payload["workflowId"]))
        services = self.resolver.services(refresh=True)
        new = [name for name, sid in services.items() if sid not in before]
        candidates = [n for n in new if is_postgres(n)] or new
        if not candidates:
            raise ProviderAPIError(
                "railway",
                "the postgres template was deployed but no new service appeared",
                hint="check the project in the Railway dashboard, then run `shipit db link` again",
            )
        return sorted(candidates)[0]

    def _wait(self, workflow_id: str) -> None:
        """Poll the template workflow until it completes (NotFound is read-after-write lag)."""
        for _ in range(WORKFLOW_POLLS):
            try:
                result = self.api.call(ops.WORKFLOW_STATUS, workflowId=workflow_id)
            except AuthError:
                return  # this token cannot observe the workflow; it goes on without us
            status = result["workflowStatus"]
            if status.get("status") == "Complete":
                return
            if status.get("status") == "Error":
                raise ProviderAPIError(
                    "railway",
                    f"creating Postgres failed: {status.get('error') or 'workflow error'}",
                    hint="see the project in the Railway dashboard",
                )
            self.sleep(self.interval)
        raise ProviderAPIError(
            "railway",
            f"creating Postgres did not finish in {WORKFLOW_POLLS * self.interval:g}s",
            hint="check the project in the Railway dashboard, then run the command again",
        )
