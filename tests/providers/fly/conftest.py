"""Fixtures for the Fly adapter: a respx stand-in for Fly that checks every request.

``FlyAPI`` answers each Machines API operation (by ``operationId``), each GraphQL operation (by
name), the logs endpoint (``logs``) and the app's public URL (``public``) from canned,
real-shaped data (shapes from ``openapi.json``, ``schema.graphql`` and the recorded examples in
API.md). Every REST request is first checked against the OpenAPI operation (method, path,
query, required headers, JSON body, no undeclared properties) and every GraphQL document and its
variables against the schema, so a request the real API would refuse fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from tests.fakes.fly import fly_spec, schema_errors
from tests.fakes.openapi import check_request
from tests.providers.support import Sleeps, instant_time

from shipit.config.loader import load_config
from shipit.config.overlay import Environment, resolve_environment
from shipit.providers.base import Artifact, ProviderContext
from shipit.providers.fly import FlyProvider
from shipit.sensitive import Secret

MACHINES = "https://api.machines.dev/v1"
GRAPHQL = "https://api.fly.io/graphql"
APP = "shop-staging"
DIGEST = "sha256:" + "4f" * 32
OLD_DIGEST = "sha256:" + "0a" * 32
IMAGE = f"registry.fly.io/shop-staging@{DIGEST}"
OLD_IMAGE = f"registry.fly.io/shop-staging@{OLD_DIGEST}"
TOKEN = "fm2_lJPECAAAAAAAAMfake,fm2_lJPETAAAAAAAAMdischarge"

CONFIG = """
[project]
name = "shop"

[services.web]
image = "{image}"
port = 8080
secrets = ["API_KEY"]
database = "postgres"
health_path = "/health"
health_timeout = 45
env = {{ LOG_LEVEL = "info" }}

[environments.staging]
provider = "fly"

[environments.staging.fly]
app = "shop-staging"
org = "personal"
region = "ams"
vm_size = "shared-cpu-2x"
memory_mb = 1024

[environments.staging.services.web]
replicas = {replicas}
"""

Answer = Any  # JSON data, an httpx.Response, or a callable(call) returning either


@dataclass(frozen=True)
class Call:
    """One request the adapter sent."""

    name: str
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: httpx.Headers
    variables: dict[str, Any] = field(default_factory=dict)


class FlyAPI:
    """Answers the adapter's requests through respx, after checking them against Fly's schemas."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.calls: list[Call] = []
        router.route(host="api.machines.dev").mock(side_effect=self._rest)
        router.post(GRAPHQL).mock(side_effect=self._graphql)
        router.get(url__regex=r"^https://api\.fly\.io/api/v1/apps/[^/]+/logs").mock(
            side_effect=self._named("logs")
        )
        router.route(host__regex=r"\.fly\.dev$").mock(side_effect=self._named("public"))

    def on(self, name: str, *answers: Answer) -> FlyAPI:
        """Answer ``name`` with ``answers`` in turn (the last one repeats)."""
        self.answers[name] = list(answers)
        return self

    def sent(self, name: str) -> list[Call]:
        """Every ``name`` request, in order."""
        return [c for c in self.calls if c.name == name]

    def names(self) -> list[str]:
        return [c.name for c in self.calls]

    def _answer(self, call: Call) -> httpx.Response:
        self.calls.append(call)
        queue = self.answers.get(call.name)
        assert queue, f"no answer for {call.name} ({call.method} {call.path})"
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(answer):
            answer = answer(call)
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer, headers={"fly-request-id": "01J0REQ"})

    def _rest(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        query = parse_qs(request.url.query.decode(), keep_blank_values=True)
        body = json.loads(request.content) if request.content else None
        name = check_request(fly_spec(), request.method, path, query, body, headers=request.headers)
        return self._answer(Call(name, request.method, path, query, body, request.headers))

    def _graphql(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        variables = body.get("variables") or {}
        errors = schema_errors(body["query"], variables)
        assert not errors, f"{body.get('operationName')}: {errors}"
        call = Call(body["operationName"], "POST", "/graphql", {}, body, request.headers, variables)
        response = self._answer(call)
        if response.status_code == 200 and "errors" not in response.json():
            payload = response.json()
            if "data" not in payload:
                return httpx.Response(200, json={"data": payload})
        return response

    def _named(self, name: str) -> Callable[[httpx.Request], httpx.Response]:
        def answer(request: httpx.Request) -> httpx.Response:
            query = parse_qs(request.url.query.decode(), keep_blank_values=True)
            return self._answer(
                Call(name, request.method, request.url.path, query, None, request.headers)
            )

        return answer


# real-shaped answers ----------------------------------------------------------------------
def machine(
    machine_id: str = "3d8d9e1b7e1589",
    *,
    state: str = "started",
    image: str = OLD_IMAGE,
    group: str = "web",
    instance_id: str = "01J8ZQ4V3M6V7K1N2P3Q4R5S6T",
    checks: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    metadata: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Machine as ``GET /v1/apps/{app}/machines`` answers it (API.md 4.2 example config)."""
    name, _, digest = image.partition("@")
    registry, _, repository = name.partition("/")
    return {
        "id": machine_id,
        "name": f"{group}-{machine_id[:4]}",
        "state": state,
        "region": "ams",
        "instance_id": instance_id,
        "private_ip": "fdaa:0:18:a7b:7d:2a1b:9c3e:2",
        "created_at": f"2026-08-21T10:00:{machine_id[-2:] if machine_id[-2:].isdigit() else '00'}Z",
        "updated_at": "2026-08-21T10:05:00Z",
        "host_status": "ok",
        "image_ref": {
            "registry": registry,
            "repository": repository,
            "tag": "",
            "digest": digest,
            "labels": {},
        },
        "config": {
            "image": image,
            "env": env if env is not None else {"PORT": "8080", "LOG_LEVEL": "debug", "KEEP": "1"},
            "guest": {"cpu_kind": "shared", "cpus": 1, "memory_mb": 256},
            "restart": {"policy": "on-failure", "max_retries": 10},
            "services": [
                {
                    "protocol": "tcp",
                    "internal_port": 8080,
                    "autostop": True,  # responses carry booleans for "stop" (API.md 4.2)
                    "autostart": True,
                    "min_machines_running": 1,
                    "ports": [
                        {"port": 80, "handlers": ["http"], "force_https": True},
                        {"port": 443, "handlers": ["tls", "http"]},
                    ],
                    "checks": [
                        {
                            "type": "http",
                            "port": 8080,
                            "method": "GET",
                            "path": "/health",
                            "interval": 15_000_000_000,  # integer nanoseconds, fly-go's other form
                            "timeout": "2s",
                            "grace_period": "10s",
                        }
                    ],
                }
            ],
            "metadata": {
                "fly_platform_version": "v2",
                "fly_process_group": group,
                "fly_release_id": "rel_old",
                "fly_release_version": "3",
                **(metadata or {}),
            },
        },
        "checks": checks if checks is not None else [passing()],
        "events": events if events is not None else [event("start"), event("launch")],
    }


def passing(status: str = "passing") -> dict[str, Any]:
    return {
        "name": "servicecheck-00-http-8080",
        "status": status,
        "output": "HTTP GET http://172.19.0.2:8080/health: 200 OK" if status == "passing" else "",
        "updated_at": "2026-08-21T10:05:30Z",
    }


def event(kind: str, **request: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": "01J8ZQ5A0000000000000000" + kind[:2].upper(),
        "type": kind,
        "status": kind,
        "source": "flyd",
        "timestamp": 1_755_770_730_000,
    }
    if request:
        found["request"] = request
    return found


def crashed_exit(code: int = 1, restarts: int = 3, restarting: bool = False) -> dict[str, Any]:
    return event(
        "exit",
        exit_event={
            "exit_code": code,
            "oom_killed": False,
            "requested_stop": False,
            "restarting": restarting,
        },
        restart_count=restarts,
    )


def lease(nonce: str = "a1b2c3d4e5f6") -> httpx.Response:
    """The lease answer as fly-go parses it (the wire envelope, API.md 4.2)."""
    return httpx.Response(
        201,
        json={
            "status": "success",
            "data": {"nonce": nonce, "expires_at": 1_755_770_790, "owner": "ci@example.com"},
            "message": "",
            "code": "",
        },
    )


def app_answer(name: str = APP) -> dict[str, Any]:
    return {
        "id": "yx8e9kqz3v4p1w2m",
        "name": name,
        "status": "deployed",
        "machine_count": 1,
        "volume_count": 0,
        "network": "default",
        "organization": {"slug": "acme-personal", "name": "Acme"},
    }


def error(status: int, message: str, code: str = "unknown") -> httpx.Response:
    return httpx.Response(
        status, json={"error": message, "status": code}, headers={"fly-request-id": "01J0ERR"}
    )


def graphql_error(message: str) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [{"message": message, "locations": [{"line": 2, "column": 3}], "path": ["app"]}],
    }


def release_node(version: int, image: str, status: str = "complete") -> dict[str, Any]:
    return {
        "id": f"rel_{version:04d}",
        "version": version,
        "status": status,
        "stable": status == "complete",
        "reason": "deploy",
        "description": "Deploy image",
        "imageRef": image,
        "createdAt": f"2026-08-21T10:0{version}:00Z",
    }


def releases_answer(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"app": {"releasesUnprocessed": {"nodes": list(nodes)}}}


def versions(*items: tuple[str, str, dict[str, str]]) -> list[dict[str, Any]]:
    """``GET .../versions``: (version ULID, image, metadata), newest first."""
    return [
        {
            "version": version,
            "user_config": {"image": image, "metadata": {"fly_process_group": "web", **meta}},
        }
        for version, image, meta in items
    ]


def log_entry(
    message: str, nanos: int, instance: str = "3d8d9e1b7e1589", provider: str = "app"
) -> dict[str, Any]:
    seconds, fraction = divmod(nanos, 1_000_000_000)
    return {
        "id": f"log-{nanos}",
        "type": "logs",
        "attributes": {
            "timestamp": f"2026-08-21T10:00:{seconds % 60:02d}.{fraction:09d}Z",
            "message": message,
            "level": "info",
            "instance": instance,
            "region": "ams",
            "meta": {"instance": instance, "region": "ams", "event": {"provider": provider}},
        },
    }


# fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def api(shared_dir: Path) -> Iterator[FlyAPI]:
    with respx.mock(assert_all_called=False) as router:
        yield FlyAPI(router)


def environment(tmp_path: Path, *, replicas: int = 1, image: str = IMAGE) -> Environment:
    (tmp_path / "shipit.toml").write_text(CONFIG.format(image=image, replicas=replicas))
    return resolve_environment(load_config(tmp_path / "shipit.toml"), "staging")


@pytest.fixture
def make_provider(tmp_path: Path, sleeps: Sleeps) -> Iterator[Callable[..., FlyProvider]]:
    made: list[FlyProvider] = []

    def make(token: str | None = TOKEN, replicas: int = 1) -> FlyProvider:
        context = ProviderContext(
            environment=environment(tmp_path, replicas=replicas),
            state_dir=tmp_path / ".shipit",
            token=Secret(token) if token else None,
        )
        sleep, policy = instant_time(sleeps)
        provider = FlyProvider(context, policy=policy, sleep=sleep, log_pause=0.5)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


@pytest.fixture
def provider(make_provider: Callable[..., FlyProvider]) -> FlyProvider:
    return make_provider()


@pytest.fixture
def web(provider: FlyProvider):
    return provider.context.environment.services["web"]


@pytest.fixture
def artifact() -> Artifact:
    return Artifact(kind="image", ref=IMAGE, digest=DIGEST)


@pytest.fixture
def existing_app(api: FlyAPI) -> FlyAPI:
    """The app exists; release bookkeeping succeeds; reads that tests rarely vary answer empty."""
    api.on("Apps_show", app_answer())
    api.on("Machines_list_versions", [])
    api.on("Secrets_list", {"secrets": []})
    api.on("Machines_release_lease", {})
    api.on("ShipitCreateRelease", {"createRelease": {"release": {"id": "rel_0004", "version": 4}}})
    api.on(
        "ShipitUpdateRelease",
        lambda call: {
            "updateRelease": {
                "release": {
                    "id": call.variables["input"]["releaseId"],
                    "status": call.variables["input"].get("status") or "running",
                    "version": 4,
                }
            }
        },
    )
    return api
