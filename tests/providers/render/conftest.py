"""Fixtures for the Render adapter: a respx stand-in for Render that checks every request.

``RenderAPI`` matches each request to one of the adapter's operations, validates it against that
operation in ``shared/providers/render/openapi.json`` (method, path template, query parameters,
JSON body against the requestBody schema, ``$ref``s resolved) and answers from canned,
real-shaped data built from the recorded fixtures in ``shared/providers/render/fixtures``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import pytest
import respx
from tests.fakes.openapi import find_operation, validate_request
from tests.providers.support import Sleeps, instant_time

from shipit.config.loader import load_config
from shipit.config.overlay import Environment, resolve_environment
from shipit.providers.base import Artifact, ProviderContext
from shipit.providers.render import RenderProvider
from shipit.providers.render import operations as ops
from shipit.sensitive import Secret

SHARED = Path(__file__).resolve().parents[4] / "shared" / "providers" / "render"
SPEC = SHARED / "openapi.json"
URL = "https://api.render.com/v1"
OWNER = "tea-cq5a1b2c3d4e5f6g7h8i"
SERVICE_ID = "srv-ct6vmvdj0q5s700ckfv0"
DIGEST = "sha256:" + "4f" * 32
IMAGE = f"ghcr.io/acme/web@{DIGEST}"
OLD_DIGEST = "sha256:" + "0a" * 32
OLD_IMAGE = f"ghcr.io/acme/web@{OLD_DIGEST}"
SERVICE_URL = "https://staging-web.onrender.com"
NOW = datetime(2026, 8, 21, 10, 30, tzinfo=UTC)

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
provider = "render"

[environments.staging.render]
owner = "{owner}"
region = "frankfurt"
name_prefix = "staging-"
"""


def fixture(name: str) -> dict[str, Any]:
    """One recorded interaction from ``shared/providers/render/fixtures``."""
    found = sorted(SHARED.glob(f"fixtures/{name}*.json"))
    assert len(found) == 1, name
    data: dict[str, Any] = json.loads(found[0].read_text())
    return data


@dataclass(frozen=True)
class Call:
    """One request the adapter sent."""

    name: str
    method: str
    path: str
    params: dict[str, list[str]]
    body: Any
    headers: httpx.Headers


Answer = Any  # JSON data, an httpx.Response, or a callable(Call) -> either


class RenderAPI:
    """Answers the adapter's REST operations through respx, after checking them."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.router = router
        self.answers: dict[str, list[Answer]] = {}
        self.calls: list[Call] = []
        router.route(host="api.render.com").mock(side_effect=self._handle)

    def on(self, operation: ops.Operation, *answers: Answer) -> RenderAPI:
        """Answer ``operation`` with ``answers`` in turn (the last one repeats)."""
        self.answers[operation.name] = list(answers)
        return self

    def sent(self, operation: ops.Operation) -> list[Call]:
        """Every request of ``operation``, in order."""
        return [c for c in self.calls if c.name == operation.name]

    def names(self) -> list[str]:
        return [c.name for c in self.calls]

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = unquote(request.url.path)
        params = parse_qs(request.url.query.decode(), keep_blank_values=True)
        body = json.loads(request.content) if request.content else None
        problems = validate_request(SPEC, request.method, path, params, body)
        assert problems == [], problems
        found = find_operation(SPEC, request.method, path)
        assert found is not None
        operation = next((o for o in ops.ALL if o.name == found.operation_id), None)
        assert operation is not None, f"{found.operation_id} is not one of the adapter's"
        call = Call(operation.name, request.method, path, params, body, request.headers)
        self.calls.append(call)
        queue = self.answers.get(operation.name)
        assert queue, f"no answer for {operation.name}"
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(answer):
            answer = answer(call)
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer, headers={"Rndr-Id": "rid-1"})


def reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    """An answer with a status; ``body`` None is an empty body."""
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


# real-shaped answers ----------------------------------------------------------------------
def service(
    *,
    image: str = OLD_IMAGE,
    health: str = "/health",
    suspended: bool = False,
    name: str = "staging-web",
) -> dict[str, Any]:
    """The image-backed service of fixture 02, renamed and pointed at ``image``."""
    found = copy.deepcopy(fixture("02")["response_body"][0]["service"])
    found.update(
        {
            "id": SERVICE_ID,
            "name": name,
            "slug": name,
            "ownerId": OWNER,
            "imagePath": image,
            "autoDeploy": "no",
            "suspended": "suspended" if suspended else "not_suspended",
            "suspenders": ["user"] if suspended else [],
        }
    )
    found["serviceDetails"]["healthCheckPath"] = health
    found["serviceDetails"]["url"] = SERVICE_URL
    return found


def services(*found: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"cursor": f"c{i}", "service": s} for i, s in enumerate(found)]


def deploy(
    deploy_id: str = "dep-new",
    status: str = "update_in_progress",
    *,
    image: str = IMAGE,
    sha: str | None = None,
    created: str = "2026-08-21T10:00:00.000000Z",
    finished: str | None = None,
    trigger: str = "api",
) -> dict[str, Any]:
    """A deploy in fixture 03's shape."""
    found = copy.deepcopy(fixture("03")["response_body"])
    found.update(
        {
            "id": deploy_id,
            "status": status,
            "trigger": trigger,
            "createdAt": created,
            "updatedAt": created,
            "startedAt": created,
            "finishedAt": finished,
        }
    )
    found["image"] = {"ref": image, "sha": sha or image.split("@", 1)[-1]}
    return found


def deploys(*found: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"cursor": d["id"], "deploy": d} for d in found]


def env_vars(values: dict[str, str]) -> list[dict[str, Any]]:
    """A variable list in fixture 04's answer shape."""
    return [{"envVar": {"key": k, "value": v}, "cursor": f"c-{k}"} for k, v in values.items()]


def log_entry(message: str, timestamp: str, kind: str = "app", level: str = "info") -> dict:
    return {
        "id": f"log-{timestamp}-{message[:8]}",
        "message": message,
        "timestamp": timestamp,
        "labels": [
            {"name": "resource", "value": SERVICE_ID},
            {"name": "instance", "value": "srv-ct6vmvdj0q5s700ckfv0-abcde"},
            {"name": "type", "value": kind},
            {"name": "level", "value": level},
        ],
    }


def logs_page(*entries: dict[str, Any], more: bool = False) -> dict[str, Any]:
    return {
        "hasMore": more,
        "nextStartTime": "2026-08-21T09:00:00Z",
        "nextEndTime": "2026-08-21T09:30:00Z",
        "logs": list(entries),
    }


# fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def api() -> Iterator[RenderAPI]:
    with respx.mock(assert_all_called=False) as router:
        yield RenderAPI(router)


def environment(tmp_path: Path, *, owner: str = OWNER) -> Environment:
    (tmp_path / "shipit.toml").write_text(CONFIG.format(image=IMAGE, owner=owner))
    return resolve_environment(load_config(tmp_path / "shipit.toml"), "staging")


@pytest.fixture
def make_provider(tmp_path: Path, sleeps: Sleeps) -> Iterator[Callable[..., RenderProvider]]:
    made: list[RenderProvider] = []

    def make(token: str | None = "rnd_key_1234", owner: str = OWNER) -> RenderProvider:
        context = ProviderContext(
            environment=environment(tmp_path, owner=owner),
            state_dir=tmp_path / ".shipit",
            token=Secret(token) if token else None,
        )
        sleep, policy = instant_time(sleeps)
        provider = RenderProvider(
            context, policy=policy, sleep=sleep, poll_interval=0.25, now=lambda: NOW
        )
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


@pytest.fixture
def provider(make_provider: Callable[..., RenderProvider]) -> RenderProvider:
    return make_provider()


@pytest.fixture
def web(provider: RenderProvider):
    return provider.context.environment.services["web"]


@pytest.fixture
def artifact() -> Artifact:
    return Artifact(kind="image", ref=IMAGE, digest=DIGEST)
