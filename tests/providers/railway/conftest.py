"""Fixtures for the Railway adapter: a respx stand-in for Railway that checks every request.

``RailwayAPI`` answers each GraphQL operation from canned, real-shaped data (shapes from
``schema.json``) and validates every document and its variables against Railway's schema first,
so a request the real API would refuse fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from tests.fakes.railway import schema_errors
from tests.providers.support import Sleeps, instant_time

from shipit.config.loader import load_config
from shipit.config.overlay import Environment, resolve_environment
from shipit.providers.base import Artifact, ProviderContext
from shipit.providers.railway import RailwayProvider
from shipit.sensitive import Secret

URL = "https://backboard.railway.com/graphql/v2"
WORKSPACE = "9a3e5c1d-2b4f-4e6a-8c7d-1f2e3d4c5b6a"
PROJECT = "b6b3d1f2-6a0e-4c43-9d2f-0c8f3e2b9a11"
PRODUCTION = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
STAGING = "5c4b3a29-1807-4f6e-9d5c-4b3a29180706"
WEB = "7e6d5c4b-3a29-4180-8f7e-6d5c4b3a2918"
POSTGRES = "3a291807-f6e5-4d4c-8b3a-291807f6e5d4"
DIGEST = "sha256:" + "4f" * 32
IMAGE = f"ghcr.io/acme/web@{DIGEST}"
OLD_IMAGE = "ghcr.io/acme/web@sha256:" + "0a" * 32
DOMAIN = "web-staging-1a2b.up.railway.app"

CONFIG = """
[project]
name = "shop"

[services.web]
image = "{image}"
secrets = ["API_KEY"]
database = "postgres"
health_path = "/health"
health_timeout = 45
env = {{ LOG_LEVEL = "info" }}

[environments.staging]
provider = "railway"

[environments.staging.railway]
project = "{project}"
"""

Answer = Any  # data dict, a full {"data"/"errors"} body, an httpx.Response, or a callable


@dataclass(frozen=True)
class Call:
    """One request the adapter sent."""

    name: str
    variables: dict[str, Any]
    headers: httpx.Headers


class RailwayAPI:
    """Answers the adapter's GraphQL operations (and other requests) through respx."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router
        self.answers: dict[str, list[Answer]] = {}
        self.calls: list[Call] = []
        router.post(URL).mock(side_effect=self._graphql)

    def on(self, name: str, *answers: Answer) -> RailwayAPI:
        """Answer ``name`` with ``answers`` in turn (the last one repeats)."""
        self.answers[name] = list(answers)
        return self

    def sent(self, name: str) -> list[dict[str, Any]]:
        """The variables of every ``name`` request, in order."""
        return [c.variables for c in self.calls if c.name == name]

    def names(self) -> list[str]:
        return [c.name for c in self.calls]

    def _graphql(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        variables = body.get("variables") or {}
        errors = schema_errors(body["query"], variables)
        assert not errors, f"{body.get('operationName')}: {errors}"
        name = body["operationName"]
        self.calls.append(Call(name, variables, request.headers))
        queue = self.answers.get(name)
        assert queue, f"no answer for {name}"
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(answer):
            answer = answer(variables)
        if isinstance(answer, httpx.Response):
            return answer
        payload = answer if ("data" in answer or "errors" in answer) else {"data": answer}
        return httpx.Response(200, json=payload, headers={"x-request-id": "req-1"})


# real-shaped answers ----------------------------------------------------------------------
def projects_page(*names: str) -> dict[str, Any]:
    return {
        "projects": {
            "edges": [
                {
                    "node": {
                        "id": PROJECT if name == "shop" else f"{name}-id",
                        "name": name,
                        "workspaceId": WORKSPACE,
                        "deletedAt": None,
                    }
                }
                for name in names
            ],
            "pageInfo": {"hasNextPage": False, "endCursor": "Y3Vyc29yOjE="},
        }
    }


def project(
    *services: tuple[str, str], can_access: bool = True, with_staging: bool = True
) -> dict[str, Any]:
    services = services or (("web", WEB),)
    environments = [_environment(PRODUCTION, "production", True)]
    if with_staging:
        environments.append(_environment(STAGING, "staging", can_access))
    return {
        "project": {
            "id": PROJECT,
            "name": "shop",
            "workspaceId": WORKSPACE,
            "environments": {"edges": [{"node": node} for node in environments]},
            "services": {"edges": [{"node": {"id": sid, "name": name}} for name, sid in services]},
        }
    }


def project_token(project_id: str = PROJECT, project_name: str = "shop") -> dict[str, Any]:
    """The answer to ``ShipitProjectToken``: a project token scoped to ``staging``."""
    return {
        "projectToken": {
            "projectId": project_id,
            "environmentId": STAGING,
            "project": {"id": project_id, "name": project_name},
            "environment": {"id": STAGING, "name": "staging"},
        }
    }


def empty_postgres_template() -> dict[str, Any]:
    """The answer to ``ShipitTemplate``: the postgres template, with no services in it."""
    return {
        "template": {
            "id": "t",
            "code": "postgres",
            "name": "P",
            "serializedConfig": {"services": {}},
        }
    }


def _environment(env_id: str, name: str, can_access: bool) -> dict[str, Any]:
    return {
        "id": env_id,
        "name": name,
        "canAccess": can_access,
        "isEphemeral": False,
        "deletedAt": None,
    }


def deployment_node(
    deployment_id: str,
    status: str = "SUCCESS",
    *,
    image: str | None = IMAGE,
    created: str = "2026-08-21T10:00:00.000Z",
    stopped: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"reason": "deploy"}
    if image:
        meta["image"] = image
    else:
        meta["commitHash"] = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
    return {
        "id": deployment_id,
        "status": status,
        "createdAt": created,
        "deploymentStopped": stopped,
        "canRedeploy": True,
        "canRollback": status != "FAILED",
        "staticUrl": DOMAIN,
        "meta": meta,
    }


def deployment(
    deployment_id: str = "dep-new", status: str = "SUCCESS", **kw: Any
) -> dict[str, Any]:
    node = deployment_node(deployment_id, status, **kw)
    return {
        "deployment": {
            **node,
            "statusUpdatedAt": node["createdAt"],
            "environmentId": STAGING,
            "serviceId": WEB,
            "url": f"https://{DOMAIN}",
        }
    }


def service_instance(
    *,
    image: str | None = OLD_IMAGE,
    latest: dict[str, Any] | None = None,
    active: list[dict[str, Any]] | None = None,
    domains: bool = True,
) -> dict[str, Any]:
    live = deployment_node("dep-old", image=image) if image else None
    return {
        "serviceInstance": {
            "id": "si-1",
            "serviceId": WEB,
            "serviceName": "web",
            "environmentId": STAGING,
            "source": {"image": image, "repo": None},
            "healthcheckPath": "/health",
            "healthcheckTimeout": 45,
            "numReplicas": 1,
            "latestDeployment": latest if latest is not None else live,
            "activeDeployments": active if active is not None else ([live] if live else []),
            "domains": {
                "serviceDomains": [{"id": "dom-1", "domain": DOMAIN, "targetPort": 8000}]
                if domains
                else [],
                "customDomains": [],
            },
        }
    }


def deployments(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {
        "deployments": {
            "edges": [{"node": n} for n in nodes],
            "pageInfo": {"hasNextPage": False, "endCursor": None},
        }
    }


def log(message: str, timestamp: str, severity: str = "info") -> dict[str, Any]:
    return {
        "timestamp": timestamp,
        "message": message,
        "severity": severity,
        "attributes": [],
        "tags": {
            "deploymentId": "dep-new",
            "deploymentInstanceId": None,
            "serviceId": WEB,
            "environmentId": STAGING,
            "snapshotId": None,
        },
    }


def graphql_error(message: str) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [
            {
                "message": message,
                "locations": [{"line": 2, "column": 3}],
                "path": ["x"],
                "extensions": {"traceId": "4b1c0de5"},
            }
        ],
    }


# fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def api(shared_dir: Path) -> Iterator[RailwayAPI]:
    with respx.mock(assert_all_called=False) as router:
        yield RailwayAPI(router)


@pytest.fixture
def resolved(api: RailwayAPI) -> RailwayAPI:
    """The answers that resolve ``shop`` / ``staging`` / ``web``."""
    api.on("ShipitProjects", projects_page("shop", "other"))
    api.on("ShipitProject", project())
    return api


def environment(tmp_path: Path, *, project_name: str = "shop") -> Environment:
    (tmp_path / "shipit.toml").write_text(CONFIG.format(image=IMAGE, project=project_name))
    return resolve_environment(load_config(tmp_path / "shipit.toml"), "staging")


@pytest.fixture
def make_provider(tmp_path: Path, sleeps: Sleeps) -> Iterator[Callable[..., RailwayProvider]]:
    made: list[RailwayProvider] = []

    def make(
        token: str | None = "tok-acct-1234", kind: str = "bearer", project_name: str = "shop"
    ) -> RailwayProvider:
        context = ProviderContext(
            environment=environment(tmp_path, project_name=project_name),
            state_dir=tmp_path / ".shipit",
            token=Secret(token) if token else None,
            extra={"token_kind": kind},
        )
        sleep, policy = instant_time(sleeps)
        provider = RailwayProvider(context, policy=policy, sleep=sleep, poll_interval=0.25)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


@pytest.fixture
def provider(make_provider: Callable[..., RailwayProvider]) -> RailwayProvider:
    return make_provider()


@pytest.fixture
def web(provider: RailwayProvider):
    return provider.context.environment.services["web"]


@pytest.fixture
def artifact() -> Artifact:
    return Artifact(kind="image", ref=IMAGE, digest=DIGEST)
