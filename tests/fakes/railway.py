"""A stateful fake of Railway's public API that checks every request against the real schema.

Each GraphQL request is parsed and validated against ``shared/providers/railway/schema.json``
with graphql-core, its variables coerced to the declared types, and then *executed* against that
schema with resolvers over in-memory state, so every answer has exactly the shape Railway's
schema gives it. Invalid documents or variables get HTTP 400 (as Railway answers them) and are
kept in ``state.invalid`` so tests can assert there were none; explicit ``null`` inputs, which
clear fields on Railway, are kept in ``state.nulls``.

State: workspaces, projects, environments, services and their per-environment instances,
variables, deployments that move QUEUED -> BUILDING -> DEPLOYING -> SUCCESS (or FAILED/CRASHED,
see ``fail_next`` and ``outcomes``) one step per ``deployment(id)`` read, build and runtime logs,
the ``postgres`` template, and source uploads (``meta_images = False`` leaves the image out of
deployments' ``meta``: the API notes could not confirm Railway records it). Non-API GET requests
are answered as the deployed app (``GET /health`` -> 200), so a service domain can point at the
fake itself.

Standalone, for end-to-end tests through ``SHIPIT_RAILWAY_API_URL``::

    python -m tests.fakes.railway --port 0 --token TOKEN
    # prints "READY http://127.0.0.1:PORT" and serves until interrupted
"""

from __future__ import annotations

import gzip
import io
import json
import re
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
    build_client_schema,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from tests.fakes.server import (
    FakeRequest,
    FakeResponse,
    FakeServer,
    serve_until_signalled,
    standalone_parser,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT.parent / "shared" / "providers" / "railway" / "schema.json"
GRAPHQL_PATH = "/graphql/v2"
STEPS = ("QUEUED", "BUILDING", "DEPLOYING")
POSTGRES_IMAGE = "ghcr.io/railwayapp-templates/postgres-ssl:17"
_UPLOAD = re.compile(r"^/project/([^/]+)/environment/([^/]+)/up$")


@cache
def railway_schema(path: Path = SCHEMA_PATH) -> GraphQLSchema:
    """Railway's schema from its introspection JSON (built once per process)."""
    introspection = json.loads(path.read_text())
    schema = build_client_schema(introspection.get("data", introspection))
    team = schema.type_map.get("Team")
    if team is not None and "id" in getattr(team, "fields", {}):
        # graphql-core 3.3 rejects this schema over one deprecation (API.md, "Validation").
        team.fields["id"].deprecation_reason = None  # type: ignore[attr-defined]
    return schema


def schema_errors(document: str, variables: dict[str, Any] | None = None) -> list[str]:
    """Why ``document`` (with ``variables``) is not valid for Railway's schema ([] if it is)."""
    schema = railway_schema()
    try:
        ast = parse(document)
    except GraphQLError as error:
        return [error.message]
    errors = [e.message for e in validate(schema, ast)]
    if errors:
        return errors
    if variables is not None:
        for node in ast.definitions:
            definitions = getattr(node, "variable_definitions", None)
            if definitions is None:
                continue
            coerced = get_variable_values(schema, definitions, variables)
            if isinstance(coerced, list):
                errors.extend(e.message for e in coerced)
    return errors


class _Clock:
    """Strictly increasing RFC 3339 timestamps with nanoseconds, as Railway's logs carry."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def stamp(self) -> str:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1000)
            nanos = self._last
        seconds, fraction = divmod(nanos, 1_000_000_000)
        base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{base}.{fraction:09d}Z"


@dataclass
class FakeDeployment:
    """One deployment and its logs."""

    id: str
    project_id: str
    environment_id: str
    service_id: str
    created_at: str
    meta: dict[str, Any]
    image: str | None = None
    outcome: str = "SUCCESS"
    status: str = "QUEUED"
    stopped: bool = False
    build_logs: list[dict[str, Any]] = field(default_factory=list)
    deploy_logs: list[dict[str, Any]] = field(default_factory=list)
    reads: int = 0


class RailwayState:
    """Everything the fake Railway knows; guarded by one lock (requests run in threads)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = _Clock()
        self.bearer_tokens: set[str] = set()
        self.project_tokens: dict[str, tuple[str, str]] = {}
        self.workspaces: dict[str, dict[str, Any]] = {}
        self.projects: dict[str, dict[str, Any]] = {}
        self.environments: dict[str, dict[str, Any]] = {}
        self.services: dict[str, dict[str, Any]] = {}
        self.instances: dict[tuple[str, str], dict[str, Any]] = {}
        self.variables: dict[tuple[str, str | None], dict[str, str]] = {}
        self.deployments: dict[str, FakeDeployment] = {}
        self.workflows: dict[str, int] = {}
        self.fail_next: list[str] = []
        self.outcomes: dict[str, str] = {}
        self.app_domain: str | None = None
        self.app_status = 200
        self.meta_images = True  # False: deployments' meta does not name their image
        self.invalid: list[dict[str, Any]] = []
        self.nulls: list[str] = []
        self.uploads: list[dict[str, Any]] = []

    # building state -----------------------------------------------------------------------
    @staticmethod
    def new_id(name: str | None = None) -> str:
        """A Railway-like id (a UUID); stable for a given ``name``."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"railway:{name}") if name else uuid.uuid4())

    def add_workspace(self, name: str) -> str:
        workspace_id = self.new_id(f"workspace/{name}")
        self.workspaces[workspace_id] = {"id": workspace_id, "name": name}
        return workspace_id

    def add_project(self, name: str, workspace_id: str, environments: list[str]) -> str:
        project_id = self.new_id(f"project/{name}")
        self.projects[project_id] = {
            "id": project_id,
            "name": name,
            "workspaceId": workspace_id,
            "deletedAt": None,
        }
        for env in environments:
            self.add_environment(project_id, env)
        return project_id

    def add_environment(self, project_id: str, name: str) -> str:
        environment_id = self.new_id(f"environment/{project_id}/{name}")
        self.environments[environment_id] = {
            "id": environment_id,
            "name": name,
            "projectId": project_id,
            "canAccess": True,
            "isEphemeral": False,
            "deletedAt": None,
        }
        for service_id, service in self.services.items():
            if service["projectId"] == project_id:
                self._instance_for(environment_id, service_id)
        return environment_id

    def add_service(self, project_id: str, name: str, *, domain: bool = True) -> str:
        service_id = self.new_id(f"service/{project_id}/{name}")
        self.services[service_id] = {"id": service_id, "name": name, "projectId": project_id}
        for environment_id, env in self.environments.items():
            if env["projectId"] == project_id:
                instance = self._instance_for(environment_id, service_id)
                if domain:
                    instance["serviceDomains"].append(
                        {
                            "id": self.new_id(),
                            "domain": self.app_domain or f"{name}.up.railway.app",
                            "targetPort": 8000,
                        }
                    )
        return service_id

    def point_domains(self, domain: str) -> None:
        """Make every service domain (and new ones) ``domain``, e.g. the fake's own address."""
        self.app_domain = domain
        for instance in self.instances.values():
            for entry in instance["serviceDomains"]:
                entry["domain"] = domain

    def _instance_for(self, environment_id: str, service_id: str) -> dict[str, Any]:
        key = (environment_id, service_id)
        if key not in self.instances:
            self.instances[key] = {
                "id": self.new_id(),
                "settings": {},
                "source": {"image": None, "repo": None},
                "serviceDomains": [],
                "customDomains": [],
            }
        return self.instances[key]

    def find(self, kind: str, name: str) -> str:
        """The id of the project/environment/service called ``name`` (first match)."""
        table = {"project": self.projects, "environment": self.environments}.get(
            kind, self.services
        )
        for item_id, item in table.items():
            if item["name"] == name:
                return item_id
        raise KeyError(f"no {kind} {name!r}")

    # deployments --------------------------------------------------------------------------
    def create_deployment(
        self,
        environment_id: str,
        service_id: str,
        *,
        meta: dict[str, Any],
        status: str = "QUEUED",
        outcome: str | None = None,
    ) -> FakeDeployment:
        project_id = self.services[service_id]["projectId"]
        image = meta.get("image")
        if not self.meta_images:
            meta = {k: v for k, v in meta.items() if k != "image"}
        if outcome is None:
            outcome = self.fail_next.pop(0) if self.fail_next else "SUCCESS"
            for fragment, forced in self.outcomes.items():
                if image and fragment in image:
                    outcome = forced
        deployment = FakeDeployment(
            id=self.new_id(),
            project_id=project_id,
            environment_id=environment_id,
            service_id=service_id,
            created_at=self.clock.stamp(),
            meta=meta,
            image=image,
            outcome=outcome,
            status=status,
        )
        self.deployments[deployment.id] = deployment
        if image:
            self.log(deployment, f"Pulling image {image}", build=True)
        else:
            self.log(deployment, f"Building {meta.get('fileCount', 0)} uploaded files", build=True)
        if status == "SUCCESS":
            self._finish(deployment)
        return deployment

    def advance(self, deployment: FakeDeployment) -> None:
        """One step along QUEUED -> BUILDING -> DEPLOYING -> outcome."""
        if deployment.status in STEPS:
            index = STEPS.index(deployment.status)
            if index + 1 < len(STEPS):
                deployment.status = STEPS[index + 1]
                if deployment.status == "DEPLOYING":
                    self.log(deployment, "Image pulled, starting container", build=True)
            else:
                self._finish(deployment)

    def _finish(self, deployment: FakeDeployment) -> None:
        deployment.status = deployment.outcome
        if deployment.outcome == "SUCCESS":
            self.log(deployment, "Starting Container", build=False)
            self.log(deployment, "listening on 0.0.0.0:8000", build=False)
            for other in self.deployments.values():
                if (
                    other is not deployment
                    and other.service_id == deployment.service_id
                    and other.environment_id == deployment.environment_id
                    and other.status in {"SUCCESS", "SLEEPING"}
                ):
                    other.status = "REMOVED"
        elif deployment.outcome == "FAILED":
            self.log(deployment, "ERROR: failed to pull image: manifest unknown", build=True)
            self.log(deployment, "Build failed", build=True, severity="error")
        else:
            self.log(deployment, "Starting Container", build=False)
            self.log(deployment, "Traceback: boom", build=False, severity="error")

    def log(
        self,
        deployment: FakeDeployment,
        message: str,
        *,
        build: bool,
        severity: str = "info",
    ) -> None:
        """Append a log line to a deployment (build or runtime)."""
        line = {
            "timestamp": self.clock.stamp(),
            "message": message,
            "severity": severity,
            "attributes": [{"key": "level", "value": severity}],
            "tags": {
                "deploymentId": deployment.id,
                "deploymentInstanceId": None,
                "serviceId": deployment.service_id,
                "environmentId": deployment.environment_id,
                "snapshotId": None,
            },
        }
        (deployment.build_logs if build else deployment.deploy_logs).append(line)

    def live(self, environment_id: str, service_id: str) -> FakeDeployment | None:
        """The deployment serving now, if any."""
        found = [
            d
            for d in self.deployments.values()
            if d.environment_id == environment_id
            and d.service_id == service_id
            and d.status in {"SUCCESS", "SLEEPING"}
            and not d.stopped
        ]
        return max(found, key=lambda d: d.created_at) if found else None

    def deployments_of(self, environment_id: str, service_id: str) -> list[FakeDeployment]:
        """Deployments of a service instance, oldest first."""
        found = [
            d
            for d in self.deployments.values()
            if d.environment_id == environment_id and d.service_id == service_id
        ]
        return sorted(found, key=lambda d: d.created_at)

    # views --------------------------------------------------------------------------------
    def deployment_view(self, deployment: FakeDeployment) -> dict[str, Any]:
        domains = self.instances.get((deployment.environment_id, deployment.service_id), {})
        first = (domains.get("serviceDomains") or [{}])[0].get("domain")
        return {
            "id": deployment.id,
            "status": deployment.status,
            "statusUpdatedAt": deployment.created_at,
            "deploymentStopped": deployment.stopped,
            "createdAt": deployment.created_at,
            "updatedAt": deployment.created_at,
            "projectId": deployment.project_id,
            "environmentId": deployment.environment_id,
            "serviceId": deployment.service_id,
            "snapshotId": None,
            "url": f"https://{first}" if first else None,
            "staticUrl": first,
            "canRedeploy": True,
            "canRollback": deployment.status not in {"FAILED"},
            "meta": dict(deployment.meta),
            "instances": [],
        }

    def summary(self) -> dict[str, Any]:
        """A JSON view of the state (``GET /_fake/state``)."""
        with self.lock:
            return {
                "projects": list(self.projects.values()),
                "environments": list(self.environments.values()),
                "services": list(self.services.values()),
                "instances": [
                    {"environmentId": e, "serviceId": s, **{k: v for k, v in i.items()}}
                    for (e, s), i in self.instances.items()
                ],
                "variables": [
                    {"environmentId": e, "serviceId": s, "variables": v}
                    for (e, s), v in self.variables.items()
                ],
                "deployments": [
                    {**self.deployment_view(d), "buildLogs": d.build_logs, "logs": d.deploy_logs}
                    for d in sorted(self.deployments.values(), key=lambda d: d.created_at)
                ],
                "invalid": self.invalid,
                "nulls": self.nulls,
                "uploads": self.uploads,
            }


def seeded_state(
    token: str = "railway-test-token",
    *,
    app_domain: str | None = None,
    project: str = "shop",
    environments: tuple[str, ...] = ("production", "staging", "staging2"),
    services: tuple[str, ...] = ("web",),
) -> RailwayState:
    """A workspace ``Acme`` with one project, its environments and services (no deployments)."""
    state = RailwayState()
    state.bearer_tokens.add(token)
    state.app_domain = app_domain
    workspace_id = state.add_workspace("Acme")
    project_id = state.add_project(project, workspace_id, list(environments))
    for name in services:
        state.add_service(project_id, name)
    return state


POSTGRES_TEMPLATE_ID = RailwayState.new_id("template/postgres")
POSTGRES_CONFIG: dict[str, Any] = {
    "services": {
        "2c1bd5a4-46b5-4a30-9c4d-3a1b0e1c7e55": {
            "name": "Postgres",
            "icon": "https://devicons.railway.app/i/postgresql.svg",
            "source": {"image": POSTGRES_IMAGE},
            "variables": {
                "PGDATA": {"defaultValue": "/var/lib/postgresql/data/pgdata", "isOptional": False},
                "PGUSER": {"defaultValue": "postgres"},
                "POSTGRES_DB": {"defaultValue": "railway"},
                "POSTGRES_PASSWORD": {"defaultValue": '${{ secret(32, "abcdefghijklmnop") }}'},
                "DATABASE_URL": {
                    "defaultValue": "postgresql://${{PGUSER}}:${{POSTGRES_PASSWORD}}"
                    "@${{RAILWAY_PRIVATE_DOMAIN}}:5432/${{PGDATABASE}}"
                },
                "SSL_CERT_DAYS": {"isOptional": True, "description": "optional"},
            },
            "volumeMounts": {"7d2f": {"mountPath": "/var/lib/postgresql/data"}},
            "deploy": {"startCommand": None, "healthcheckPath": None},
        }
    }
}


class Unauthorized(Exception):
    """Railway's answer to a refused token (a GraphQL error with HTTP 200)."""

    def __init__(self) -> None:
        super().__init__("Not Authorized")


@dataclass
class _Auth:
    kind: str  # "bearer" or "project"
    project_id: str | None = None
    environment_id: str | None = None


class Resolvers:
    """Root fields of Railway's Query and Mutation types, over a RailwayState.

    graphql-core's default resolver calls ``Resolvers.<field>(info, **arguments)`` for root
    fields and reads nested fields from the dicts returned here.
    """

    def __init__(self, state: RailwayState, auth: _Auth) -> None:
        self.state = state
        self.auth = auth

    # guards -------------------------------------------------------------------------------
    def _environment(self, environment_id: str) -> dict[str, Any]:
        env = self.state.environments.get(environment_id)
        if env is None:
            raise Exception("Environment not found")
        if self.auth.kind == "project" and environment_id != self.auth.environment_id:
            raise Unauthorized()
        return env

    def _project(self, project_id: str) -> dict[str, Any]:
        project = self.state.projects.get(project_id)
        if project is None or project.get("deletedAt"):
            raise Exception("Project not found")
        if self.auth.kind == "project" and project_id != self.auth.project_id:
            raise Unauthorized()
        return project

    def _service(self, service_id: str) -> dict[str, Any]:
        service = self.state.services.get(service_id)
        if service is None:
            raise Exception("Service not found")
        self._project(service["projectId"])
        return service

    def _instance(self, environment_id: str, service_id: str) -> dict[str, Any]:
        self._environment(environment_id)
        self._service(service_id)
        instance = self.state.instances.get((environment_id, service_id))
        if instance is None:
            raise Exception("ServiceInstance not found")
        return instance

    def _deployment(self, deployment_id: str) -> FakeDeployment:
        deployment = self.state.deployments.get(deployment_id)
        if deployment is None:
            raise Exception("Deployment not found")
        self._environment(deployment.environment_id)
        return deployment

    # queries: ids -------------------------------------------------------------------------
    def projectToken(self, info: Any) -> dict[str, Any]:
        if self.auth.kind != "project":
            raise Exception("Project Token not found")
        project = self.state.projects[str(self.auth.project_id)]
        env = self.state.environments[str(self.auth.environment_id)]
        return {
            "id": self.state.new_id("token"),
            "name": "ci",
            "projectId": project["id"],
            "environmentId": env["id"],
            "project": self._project_view(project),
            "environment": dict(env),
        }

    def me(self, info: Any) -> dict[str, Any]:
        if self.auth.kind != "bearer":
            raise Unauthorized()
        return {
            "id": "user-1",
            "name": "Test User",
            "email": "test@example.com",
            "workspaces": list(self.state.workspaces.values()),
        }

    def projects(self, info: Any, **args: Any) -> dict[str, Any]:
        if self.auth.kind != "bearer":
            raise Unauthorized()
        nodes = [
            p
            for p in self.state.projects.values()
            if args.get("workspaceId") in (None, p["workspaceId"])
            and (args.get("includeDeleted") or not p.get("deletedAt"))
        ]
        return _connection([self._project_view(p) for p in nodes], args)

    def project(self, info: Any, id: str) -> dict[str, Any]:
        return self._project_view(self._project(id))

    def _project_view(self, project: dict[str, Any]) -> dict[str, Any]:
        envs = [e for e in self.state.environments.values() if e["projectId"] == project["id"]]
        services = [s for s in self.state.services.values() if s["projectId"] == project["id"]]
        return {
            **project,
            "environments": _connection(envs, {}),
            "services": _connection(services, {}),
        }

    def serviceInstance(self, info: Any, environmentId: str, serviceId: str) -> dict[str, Any]:
        instance = self._instance(environmentId, serviceId)
        deployments = self.state.deployments_of(environmentId, serviceId)
        latest = deployments[-1] if deployments else None
        live = self.state.live(environmentId, serviceId)
        settings = instance["settings"]
        return {
            "id": instance["id"],
            "serviceId": serviceId,
            "serviceName": self.state.services[serviceId]["name"],
            "environmentId": environmentId,
            "source": dict(instance["source"]),
            "healthcheckPath": settings.get("healthcheckPath"),
            "healthcheckTimeout": settings.get("healthcheckTimeout"),
            "numReplicas": settings.get("numReplicas", 1),
            "latestDeployment": self.state.deployment_view(latest) if latest else None,
            "activeDeployments": [self.state.deployment_view(live)] if live else [],
            "domains": {
                "serviceDomains": [
                    {"suffix": "up.railway.app", "syncStatus": "ACTIVE", **d}
                    for d in instance["serviceDomains"]
                ],
                "customDomains": list(instance["customDomains"]),
            },
        }

    # queries: variables, templates --------------------------------------------------------
    def variables(
        self,
        info: Any,
        projectId: str,
        environmentId: str,
        serviceId: str | None = None,
        unrendered: bool | None = None,
    ) -> dict[str, str]:
        self._project(projectId)
        self._environment(environmentId)
        if serviceId is not None:
            self._service(serviceId)
        values = dict(self.state.variables.get((environmentId, serviceId), {}))
        if not unrendered:
            values = {k: self._render(environmentId, v) for k, v in values.items()}
        return values

    def variablesForServiceDeployment(
        self, info: Any, projectId: str, environmentId: str, serviceId: str
    ) -> dict[str, str]:
        return self.variables(info, projectId, environmentId, serviceId, unrendered=False)

    def _render(self, environment_id: str, value: str) -> str:
        def replace(match: re.Match[str]) -> str:
            service_name, _, key = match.group(1).strip().partition(".")
            for service_id, service in self.state.services.items():
                if service["name"] == service_name:
                    found = self.state.variables.get((environment_id, service_id), {})
                    return found.get(key, "")
            return ""

        return re.sub(r"\$\{\{([^}]*)\}\}", replace, value)

    def template(self, info: Any, code: str | None = None, **args: Any) -> dict[str, Any]:
        if code != "postgres":
            raise Exception("Template not found")
        return {
            "id": POSTGRES_TEMPLATE_ID,
            "code": "postgres",
            "name": "PostgreSQL",
            "serializedConfig": json.loads(json.dumps(POSTGRES_CONFIG)),
        }

    def workflowStatus(self, info: Any, workflowId: str) -> dict[str, Any]:
        if workflowId not in self.state.workflows:
            return {"status": "NotFound", "error": None}
        self.state.workflows[workflowId] += 1
        if self.state.workflows[workflowId] < 2:
            return {"status": "Running", "error": None}
        return {"status": "Complete", "error": None}

    # queries: deployments and logs --------------------------------------------------------
    def deployment(self, info: Any, id: str) -> dict[str, Any]:
        deployment = self._deployment(id)
        deployment.reads += 1
        self.state.advance(deployment)
        return self.state.deployment_view(deployment)

    def deployments(self, info: Any, input: dict[str, Any], **args: Any) -> dict[str, Any]:
        if input.get("environmentId"):
            self._environment(input["environmentId"])
        elif self.auth.kind == "project":
            raise Unauthorized()
        found = [
            d
            for d in sorted(self.state.deployments.values(), key=lambda d: d.created_at)
            if all(
                input.get(key) in (None, getattr(d, attr))
                for key, attr in (
                    ("projectId", "project_id"),
                    ("environmentId", "environment_id"),
                    ("serviceId", "service_id"),
                )
            )
        ]
        wanted = (input.get("status") or {}).get("in")
        if wanted:
            found = [d for d in found if d.status in wanted]
        return _connection([self.state.deployment_view(d) for d in found], args)

    def deploymentEvents(self, info: Any, id: str, **args: Any) -> dict[str, Any]:
        deployment = self._deployment(id)
        events = [
            {
                "id": self.state.new_id(),
                "step": "BUILD_IMAGE",
                "createdAt": deployment.created_at,
                "completedAt": deployment.created_at,
                "payload": {"error": None, "reason": None, "detail": None},
            }
        ]
        if deployment.status == "FAILED":
            events.append(
                {
                    "id": self.state.new_id(),
                    "step": "PUBLISH_IMAGE",
                    "createdAt": deployment.created_at,
                    "completedAt": deployment.created_at,
                    "payload": {"error": "failed to pull image", "reason": None, "detail": None},
                }
            )
        return _connection(events, args)

    def buildLogs(self, info: Any, deploymentId: str, **args: Any) -> list[dict[str, Any]]:
        return _logs(self._deployment(deploymentId).build_logs, args)

    def deploymentLogs(self, info: Any, deploymentId: str, **args: Any) -> list[dict[str, Any]]:
        return _logs(self._deployment(deploymentId).deploy_logs, args)

    # mutations ----------------------------------------------------------------------------
    def serviceCreate(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        if self.auth.kind == "project":
            raise Unauthorized()
        project = self._project(input["projectId"])
        name = input.get("name") or f"service-{len(self.state.services) + 1}"
        service_id = self.state.add_service(project["id"], name, domain=False)
        return dict(self.state.services[service_id])

    def serviceInstanceUpdate(
        self, info: Any, serviceId: str, input: dict[str, Any], environmentId: str | None = None
    ) -> bool:
        if environmentId is None:
            raise Exception("environmentId is required by this fake")
        instance = self._instance(environmentId, serviceId)
        for key, value in input.items():
            if key == "source":
                instance["source"] = {"image": value.get("image"), "repo": value.get("repo")}
            else:
                instance["settings"][key] = value
        return True

    def serviceInstanceDeployV2(
        self, info: Any, environmentId: str, serviceId: str, commitSha: str | None = None
    ) -> str:
        instance = self._instance(environmentId, serviceId)
        image = instance["source"].get("image")
        if not image:
            raise Exception("Service instance has no source to deploy")
        deployment = self.state.create_deployment(
            environmentId, serviceId, meta={"image": image, "reason": "deploy"}
        )
        return deployment.id

    def variableCollectionUpsert(self, info: Any, input: dict[str, Any]) -> bool:
        self._project(input["projectId"])
        self._environment(input["environmentId"])
        key = (input["environmentId"], input.get("serviceId"))
        current = {} if input.get("replace") else dict(self.state.variables.get(key, {}))
        current.update({str(k): str(v) for k, v in input["variables"].items()})
        self.state.variables[key] = current
        if not input.get("skipDeploys") and input.get("serviceId"):
            self._redeploy_live(input["environmentId"], input["serviceId"])
        return True

    def variableUpsert(self, info: Any, input: dict[str, Any]) -> bool:
        return self.variableCollectionUpsert(
            info,
            {**input, "variables": {input["name"]: input["value"]}},
        )

    def variableDelete(self, info: Any, input: dict[str, Any]) -> bool:
        self._environment(input["environmentId"])
        key = (input["environmentId"], input.get("serviceId"))
        values = self.state.variables.get(key, {})
        if input["name"] not in values:
            raise Exception("Variable not found")
        del values[input["name"]]
        if input.get("serviceId"):
            self._redeploy_live(input["environmentId"], input["serviceId"])
        return True

    def _redeploy_live(self, environment_id: str, service_id: str) -> None:
        live = self.state.live(environment_id, service_id)
        if live is not None:
            meta = {**live.meta, "reason": "variables"}
            if live.image:
                meta["image"] = live.image
            self.state.create_deployment(environment_id, service_id, meta=meta)

    def templateDeployV2(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        if self.auth.kind == "project":
            raise Unauthorized()
        if input["templateId"] != POSTGRES_TEMPLATE_ID:
            raise Exception("Template not found")
        project = self._project(input["projectId"])
        environment_id = input["environmentId"]
        self._environment(environment_id)
        config = input["serializedConfig"]
        (template_service,) = config["services"].values()
        for name, variable in template_service["variables"].items():
            if variable.get("value") is None and not variable.get("isOptional"):
                raise Exception(f"Missing value for variable {name}")
        taken = {s["name"] for s in self.state.services.values()}
        name = "Postgres" if "Postgres" not in taken else f"Postgres-{uuid.uuid4().hex[:4]}"
        service_id = self.state.new_id(f"service/{project['id']}/{name}")
        self.state.services[service_id] = {
            "id": service_id,
            "name": name,
            "projectId": project["id"],
        }
        instance = self.state._instance_for(environment_id, service_id)
        instance["source"] = {"image": template_service["source"]["image"], "repo": None}
        self.state.variables[(environment_id, service_id)] = {
            "PGUSER": "postgres",
            "PGPASSWORD": "pw-" + uuid.uuid4().hex,
            "PGDATABASE": "railway",
            "DATABASE_URL": f"postgresql://postgres:pw@{name.lower()}.railway.internal:5432/railway",
        }
        self.state.create_deployment(
            environment_id,
            service_id,
            meta={"image": template_service["source"]["image"]},
            status="SUCCESS",
            outcome="SUCCESS",
        )
        workflow_id = self.state.new_id()
        self.state.workflows[workflow_id] = 0
        return {"projectId": project["id"], "workflowId": workflow_id}

    def deploymentRollback(self, info: Any, id: str) -> bool:
        old = self._deployment(id)
        meta = {**old.meta, "reason": "rollback"}
        if old.image:
            meta["image"] = old.image
        self.state.create_deployment(old.environment_id, old.service_id, meta=meta)
        return True

    def deploymentCancel(self, info: Any, id: str) -> bool:
        deployment = self._deployment(id)
        if deployment.status in STEPS:
            deployment.status = "REMOVED"
        return True

    def deploymentRemove(self, info: Any, id: str) -> bool:
        deployment = self._deployment(id)
        deployment.status = "REMOVED"
        return True

    def deploymentStop(self, info: Any, id: str) -> bool:
        self._deployment(id).stopped = True
        return True


def _connection(nodes: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
    start = int(args.get("after") or 0)
    first = args.get("first")
    end = len(nodes) if first is None else min(len(nodes), start + int(first))
    page = nodes[start:end]
    return {
        "edges": [{"node": node, "cursor": str(start + i + 1)} for i, node in enumerate(page)],
        "pageInfo": {
            "hasNextPage": end < len(nodes),
            "hasPreviousPage": start > 0,
            "startCursor": str(start) if page else None,
            "endCursor": str(end) if page else None,
        },
    }


def _logs(lines: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
    """Railway's log query: date window, substring filter, and ``limit + 1`` lines (a quirk)."""
    found = list(lines)
    if args.get("startDate"):
        found = [line for line in found if line["timestamp"] >= args["startDate"]]
    if args.get("endDate"):
        found = [line for line in found if line["timestamp"] <= args["endDate"]]
    if args.get("filter"):
        found = [line for line in found if args["filter"] in line["message"]]
    limit = int(args.get("limit") or 100)
    return [dict(line) for line in found[-(limit + 1) :]]


# Variables of JSON scalar types: their contents pass through as data, nulls included.
JSON_SCALAR_KEYS = frozenset({"serializedConfig", "patch", "multiRegionConfig", "nixpacksPlan"})


def _nulls(value: Any, path: str = "") -> Iterator[str]:
    """Paths of explicit nulls in input objects (on Railway a null clears the field)."""
    if value is None:
        yield path or "(root)"
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in JSON_SCALAR_KEYS:
                yield from _nulls(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nulls(item, f"{path}[{index}]")


class FakeRailway:
    """The fake's request handler (``FakeServer`` app) over a RailwayState."""

    def __init__(self, state: RailwayState) -> None:
        self.state = state

    def __call__(self, request: FakeRequest) -> FakeResponse:
        if request.path == GRAPHQL_PATH and request.method == "POST":
            return self.graphql(request)
        upload = _UPLOAD.match(request.path)
        if upload and request.method == "POST":
            return self.upload(request, upload.group(1), upload.group(2))
        if request.path.startswith("/_fake/"):
            return self.control(request)
        if request.method in {"GET", "HEAD"}:
            body = {"status": "ok"} if self.state.app_status < 400 else {"status": "down"}
            return FakeResponse.json(body, self.state.app_status)
        return FakeResponse.text("not found", 404)

    def _auth(self, request: FakeRequest) -> _Auth | None:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer ") and header[7:] in self.state.bearer_tokens:
            return _Auth("bearer")
        project_token = request.headers.get("project-access-token")
        if project_token and project_token in self.state.project_tokens:
            project_id, environment_id = self.state.project_tokens[project_token]
            return _Auth("project", project_id, environment_id)
        return None

    def graphql(self, request: FakeRequest) -> FakeResponse:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _bad("GRAPHQL_PARSE_FAILED", "a JSON body with `query` is required")
        schema = railway_schema()
        variables = body.get("variables") or {}
        operation_name = body.get("operationName")
        try:
            document = parse(body["query"])
        except GraphQLError as error:
            return self._invalid(body, "GRAPHQL_PARSE_FAILED", [error.message])
        errors = [e.message for e in validate(schema, document)]
        if errors:
            return self._invalid(body, "GRAPHQL_VALIDATION_FAILED", errors)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return self._invalid(body, "GRAPHQL_VALIDATION_FAILED", ["unknown operation"])
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return self._invalid(body, "BAD_USER_INPUT", [e.message for e in coerced])
        with self.state.lock:
            self.state.nulls.extend(f"{operation_name}: {p}" for p in _nulls(variables) if p)
            auth = self._auth(request)
            if auth is None and operation.name and operation.name.value != "ShipitTemplate":
                return FakeResponse.json(
                    {
                        "data": None,
                        "errors": [
                            {"message": "Not Authorized", "extensions": {"traceId": "trace-1"}}
                        ],
                    }
                )
            result = execute(
                schema,
                document,
                root_value=Resolvers(self.state, auth or _Auth("anonymous")),
                variable_values=variables,
                operation_name=operation_name,
            )
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [
                {**e.formatted, "extensions": {"traceId": uuid.uuid4().hex}} for e in result.errors
            ]
        return FakeResponse.json(answer, headers={"X-Request-Id": uuid.uuid4().hex})

    def _invalid(self, body: dict[str, Any], code: str, errors: list[str]) -> FakeResponse:
        with self.state.lock:
            self.state.invalid.append({"operation": body.get("operationName"), "errors": errors})
        return _bad(code, "; ".join(errors))

    def upload(self, request: FakeRequest, project_id: str, environment_id: str) -> FakeResponse:
        auth = self._auth(request)
        if auth is None:
            return FakeResponse.json({"message": "Not Authorized"}, 401)
        service_id = (request.query.get("serviceId") or [""])[0]
        try:
            with tarfile.open(fileobj=io.BytesIO(gzip.decompress(request.body))) as tar:
                names = tar.getnames()
        except (OSError, tarfile.TarError, EOFError):
            return FakeResponse.json({"message": "invalid archive"}, 400)
        with self.state.lock:
            if (
                service_id not in self.state.services
                or environment_id not in self.state.environments
            ):
                return FakeResponse.json({"message": "Service not found"}, 400)
            self.state.uploads.append({"serviceId": service_id, "files": names})
            deployment = self.state.create_deployment(
                environment_id, service_id, meta={"fileCount": len(names), "reason": "upload"}
            )
        return FakeResponse.json(
            {
                "deploymentId": deployment.id,
                "url": f"https://railway.com/project/{project_id}",
                "logsUrl": f"https://railway.com/project/{project_id}/logs",
                "deploymentDomain": self.state.app_domain or "",
            }
        )

    def control(self, request: FakeRequest) -> FakeResponse:
        route = request.path[len("/_fake/") :].strip("/")
        options = request.json() or {}
        with self.state.lock:
            if route == "state":
                return FakeResponse.json(self.state.summary())
            if route == "fail-next" and request.method == "POST":
                self.state.fail_next.extend(options.get("statuses", ["FAILED"]))
                return FakeResponse.json({"ok": True})
            if route == "outcome" and request.method == "POST":
                self.state.outcomes[options["image"]] = options["status"]
                return FakeResponse.json({"ok": True})
            if route == "app-status" and request.method == "POST":
                self.state.app_status = int(options["status"])
                return FakeResponse.json({"ok": True})
            if route == "project-token" and request.method == "POST":
                project_id = self.state.find("project", options["project"])
                environment_id = next(
                    e["id"]
                    for e in self.state.environments.values()
                    if e["projectId"] == project_id and e["name"] == options["environment"]
                )
                self.state.project_tokens[options["token"]] = (project_id, environment_id)
                return FakeResponse.json({"ok": True})
        return FakeResponse.text("unknown control route", 404)


def _bad(code: str, message: str) -> FakeResponse:
    return FakeResponse.json(
        {"errors": [{"message": message, "extensions": {"code": code, "traceId": "trace-400"}}]},
        400,
    )


@contextmanager
def railway_server(state: RailwayState | None = None) -> Iterator[tuple[FakeServer, RailwayState]]:
    """A running fake Railway; the app domain of seeded services points at the fake itself."""
    state = state or RailwayState()
    server = FakeServer(FakeRailway(state))
    if state.app_domain is None:
        state.point_domains(f"127.0.0.1:{server.port}")
    with server:
        yield server, state


def main(argv: list[str] | None = None) -> int:
    """Serve a seeded fake Railway until SIGINT/SIGTERM; prints ``READY <url>`` first."""
    parser = standalone_parser("tests.fakes.railway", __doc__, token="railway-test-token")
    parser.add_argument("--project", default="shop")
    parser.add_argument("--environments", default="production,staging,staging2")
    parser.add_argument("--services", default="web")
    options = parser.parse_args(argv)
    state = seeded_state(
        options.token,
        project=options.project,
        environments=tuple(options.environments.split(",")),
        services=tuple(options.services.split(",")),
    )
    server = FakeServer(FakeRailway(state), port=options.port)
    state.point_domains(f"127.0.0.1:{server.port}")
    railway_schema()
    return serve_until_signalled(server)


if __name__ == "__main__":
    sys.exit(main())
