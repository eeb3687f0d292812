"""A stateful fake of Render's public REST API that checks every request against ``openapi.json``.

Each request (under ``/v1`` or at the root) is matched to its operation in
``shared/providers/render/openapi.json`` and its path, query and JSON body are validated with
:func:`tests.fakes.openapi.validate_request`; an invalid request gets HTTP 400 (Render's error
shape, ``{"message"}``) and is kept in ``state.invalid`` so tests can assert there were none.

State: workspaces (owners), image-backed services, their variables, deploys that move
``created`` -> ``update_in_progress`` -> ``live`` (or ``build_failed``/``update_failed``, see
``fail_next`` and ``outcomes``) one step per ``GET /services/{id}/deploys/{deployId}``, build and
app logs served by ``GET /logs`` with Render's time-window paging, suspend/resume, rollback,
cancel, and Postgres databases that go ``unknown`` -> ``creating`` -> ``available`` one step per
read, with a point-in-time recovery status (``NOT_AVAILABLE`` on the free plan,
``BACKUP_NOT_READY`` until available, then ``AVAILABLE``; ``state.recovery[id]`` overrides it).
Answers have the shapes of the recorded fixtures. ``GET /apps/<slug>/...`` answers as the
deployed app, so ``SHIPIT_RENDER_SERVICE_URL_TEMPLATE=<fake>/apps/{slug}`` points health probes at
the fake. Knobs for outcomes the API notes could not settle: ``digest_image_urls = False`` makes
``imageUrl`` with a digest a 400; ``queue_next`` answers the next deploy create with 202 and no
body.

Standalone, for end-to-end tests through ``SHIPIT_RENDER_API_URL``::

    python -m tests.fakes.render --port 0 --token TOKEN
    # prints "READY http://127.0.0.1:PORT" and serves until interrupted
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.fakes.openapi import load_document, validate_request
from tests.fakes.server import (
    FakeRequest,
    FakeResponse,
    FakeServer,
    serve_until_signalled,
    standalone_parser,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT.parent / "shared" / "providers" / "render" / "openapi.json"
OWNER_ID = "tea-d0fakeowner00000000"
IN_PROGRESS = (
    "created",
    "queued",
    "build_in_progress",
    "update_in_progress",
    "pre_deploy_in_progress",
)
SUCCESS_STEPS = ("created", "update_in_progress")
LOG_LIMIT_DEFAULT = 20


def render_document() -> Any:
    """Render's OpenAPI document, loaded once per process."""
    return load_document(SPEC_PATH)


class _Clock:
    """Strictly increasing UTC times (microseconds), as RFC 3339 text."""

    def __init__(self) -> None:
        self._last = datetime.fromtimestamp(0, UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            moment = max(datetime.now(UTC), self._last + timedelta(microseconds=1))
            self._last = moment
            return moment

    def stamp(self) -> str:
        return rfc3339(self.now())


def rfc3339(moment: datetime) -> str:
    """``2026-08-21T10:00:00.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """An RFC 3339 time (fractions trimmed to microseconds)."""
    trimmed = re.sub(r"\.(\d+)", lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    value = datetime.fromisoformat(trimmed.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def new_id(prefix: str) -> str:
    """A Render-like id: prefix plus 20 base-32-ish characters."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def digest_of(ref: str) -> str:
    """The digest an image reference pins, else a stable made-up one (what a registry says)."""
    if "@" in ref:
        return ref.split("@", 1)[1]
    return "sha256:" + hashlib.sha256(ref.encode()).hexdigest()


@dataclass
class FakeDeploy:
    """One deploy of a service and the variables it started with."""

    id: str
    service_id: str
    image_ref: str
    sha: str
    trigger: str
    created_at: str
    env: dict[str, str]
    outcome: str = "live"
    status: str = "created"
    started_at: str | None = None
    finished_at: str | None = None
    updated_at: str = ""

    def view(self) -> dict[str, Any]:
        """The ``deploy`` object as Render answers it (fixture 03's shape)."""
        answer: dict[str, Any] = {
            "id": self.id,
            "commit": None,
            "image": {"ref": self.image_ref, "sha": self.sha},
            "status": self.status,
            "trigger": self.trigger,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at or self.created_at,
            "finishedAt": self.finished_at,
        }
        if self.started_at:
            answer["startedAt"] = self.started_at
        return answer


class RenderState:
    """Everything the fake Render knows; guarded by one lock (requests run in threads)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = _Clock()
        self.tokens: set[str] = set()
        self.owners: dict[str, dict[str, Any]] = {}
        self.services: dict[str, dict[str, Any]] = {}
        self.env: dict[str, dict[str, str]] = {}
        self.deploys: dict[str, FakeDeploy] = {}
        self.logs: list[dict[str, Any]] = []
        self.postgres: dict[str, dict[str, Any]] = {}
        self.connection: dict[str, dict[str, str]] = {}
        self.recovery: dict[str, dict[str, Any]] = {}  # forced recovery answers by Postgres id
        self.fail_next: list[str] = []
        self.outcomes: dict[str, str] = {}
        self.app_status = 200
        self.digest_image_urls = True
        self.queue_next = 0
        self.invalid: list[dict[str, Any]] = []

    # building state -----------------------------------------------------------------------
    def add_owner(self, name: str, owner_id: str = OWNER_ID) -> str:
        self.owners[owner_id] = {
            "id": owner_id,
            "name": name,
            "email": "ops@example.com",
            "type": "team",
        }
        return owner_id

    def create_service(self, body: dict[str, Any]) -> dict[str, Any]:
        """A service from a ``servicePOST`` body (image-backed web service shape)."""
        service_id = new_id("srv")
        now = self.clock.stamp()
        name = body["name"]
        slug = re.sub(r"[^a-z0-9-]", "-", name.lower())
        details = dict(body.get("serviceDetails") or {})
        docker = dict(details.get("envSpecificDetails") or {})
        service = {
            "id": service_id,
            "name": name,
            "ownerId": body["ownerId"],
            "type": body["type"],
            "autoDeploy": body.get("autoDeploy", "yes"),
            "createdAt": now,
            "updatedAt": now,
            "dashboardUrl": f"https://dashboard.render.com/web/{service_id}",
            "imagePath": (body.get("image") or {}).get("imagePath", ""),
            "notifyOnFail": "default",
            "rootDir": "",
            "slug": slug,
            "suspended": "not_suspended",
            "suspenders": [],
            "serviceDetails": {
                "buildPlan": "starter",
                "env": "image",
                "runtime": details.get("runtime", "image"),
                "envSpecificDetails": {
                    "dockerCommand": docker.get("dockerCommand", ""),
                    "dockerContext": "",
                    "dockerfilePath": "",
                },
                "healthCheckPath": details.get("healthCheckPath", ""),
                "maintenanceMode": {"enabled": False, "uri": ""},
                "numInstances": details.get("numInstances", 1),
                "openPorts": [{"port": 10000, "protocol": "TCP"}],
                "plan": details.get("plan", "starter"),
                "previews": {"generation": "off"},
                "pullRequestPreviewsEnabled": "no",
                "region": details.get("region", "oregon"),
                "sshAddress": f"{service_id}@ssh.oregon.render.com",
                "url": f"https://{slug}.onrender.com",
            },
        }
        self.services[service_id] = service
        self.env[service_id] = {v["key"]: v.get("value", "") for v in body.get("envVars") or []}
        return service

    def find_service(self, name: str) -> dict[str, Any]:
        """The service called ``name`` (KeyError when there is none)."""
        for service in self.services.values():
            if service["name"] == name:
                return service
        raise KeyError(name)

    # deploys ------------------------------------------------------------------------------
    def create_deploy(self, service_id: str, image_ref: str, *, trigger: str) -> FakeDeploy:
        outcome = self.fail_next.pop(0) if self.fail_next else "live"
        for fragment, forced in self.outcomes.items():
            if fragment in image_ref:
                outcome = forced
        deploy = FakeDeploy(
            id=new_id("dep"),
            service_id=service_id,
            image_ref=image_ref,
            sha=digest_of(image_ref),
            trigger=trigger,
            created_at=self.clock.stamp(),
            env=dict(self.env.get(service_id, {})),
            outcome=outcome,
        )
        self.deploys[deploy.id] = deploy
        self.log(deploy, f"==> Pulling image {image_ref}", "build")
        return deploy

    def advance(self, deploy: FakeDeploy) -> None:
        """One step along created -> update_in_progress -> outcome."""
        if deploy.status not in SUCCESS_STEPS:
            return
        now = self.clock.stamp()
        deploy.updated_at = now
        if deploy.status == "created":
            deploy.status = "update_in_progress"
            deploy.started_at = now
            if deploy.outcome == "build_failed":
                self.finish(deploy)
            else:
                self.log(deploy, f"==> Image pulled: {deploy.sha}", "build")
            return
        self.finish(deploy)

    def finish(self, deploy: FakeDeploy) -> None:
        """End a deploy with its outcome; a live one deactivates the one it replaces."""
        deploy.status = deploy.outcome
        deploy.finished_at = deploy.updated_at = self.clock.stamp()
        if deploy.outcome == "live":
            self.log(deploy, "==> Starting service", "app")
            self.log(deploy, "listening on 0.0.0.0:10000", "app")
            for other in self.deploys.values():
                same_service = other.service_id == deploy.service_id
                if other is not deploy and same_service and other.status == "live":
                    other.status = "deactivated"
        elif deploy.outcome == "build_failed":
            self.log(deploy, "ERROR: failed to pull image: manifest unknown", "build", "error")
            self.log(deploy, "==> Build failed", "build", "error")
        else:
            self.log(deploy, "==> Starting service", "app")
            self.log(
                deploy, "Traceback (most recent call last): RuntimeError: boom", "app", "error"
            )
            self.log(deploy, "==> Exited with status 1", "app", "error")

    def live(self, service_id: str) -> FakeDeploy | None:
        """The deploy serving now."""
        found = [
            d for d in self.deploys.values() if d.service_id == service_id and d.status == "live"
        ]
        return found[0] if found else None

    def deploys_of(self, service_id: str) -> list[FakeDeploy]:
        """Deploys of a service, oldest first."""
        found = [d for d in self.deploys.values() if d.service_id == service_id]
        return sorted(found, key=lambda d: d.created_at)

    def busy(self, service_id: str) -> bool:
        return any(d.status in IN_PROGRESS for d in self.deploys_of(service_id))

    def log(self, deploy: FakeDeploy, message: str, kind: str, level: str = "info") -> None:
        """Append a log line of a service (``build`` or ``app``)."""
        self.logs.append(
            {
                "id": str(uuid.uuid4()),
                "message": message,
                "timestamp": self.clock.stamp(),
                "labels": [
                    {"name": "resource", "value": deploy.service_id},
                    {"name": "instance", "value": f"{deploy.service_id}-{deploy.id[-5:]}"},
                    {"name": "type", "value": kind},
                    {"name": "level", "value": level},
                ],
            }
        )

    # Postgres -----------------------------------------------------------------------------
    def create_postgres(self, body: dict[str, Any]) -> dict[str, Any]:
        postgres_id = f"dpg-{uuid.uuid4().hex[:20]}-a"
        now = self.clock.stamp()
        owner = self.owners.get(body["ownerId"]) or {
            "id": body["ownerId"],
            "name": "Workspace",
            "email": "ops@example.com",
            "type": "team",
        }
        database = f"{body.get('databaseName') or 'app'}_{uuid.uuid4().hex[:4]}"
        user = body.get("databaseUser") or "app_user"
        detail = {
            "id": postgres_id,
            "name": body["name"],
            "status": "unknown",
            "role": "primary",
            "plan": body["plan"],
            "region": body.get("region", "oregon"),
            "version": body["version"],
            "databaseName": database,
            "databaseUser": user,
            "dashboardUrl": f"https://dashboard.render.com/d/{postgres_id}",
            "owner": owner,
            "createdAt": now,
            "updatedAt": now,
            "diskAutoscalingEnabled": False,
            "highAvailabilityEnabled": False,
            "ipAllowList": None,
            "readReplicas": [],
            "suspended": "not_suspended",
            "suspenders": [],
        }
        password = "pw" + uuid.uuid4().hex
        host = postgres_id
        self.connection[postgres_id] = {
            "password": password,
            "internalConnectionString": f"postgresql://{user}:{password}@{host}/{database}",
            "externalConnectionString": (
                f"postgresql://{user}:{password}@{host}.oregon-postgres.render.com:5432/{database}"
            ),
            "psqlCommand": f"PGPASSWORD={password} psql -h {host}.oregon-postgres.render.com "
            f"-p 5432 -U {user} {database}",
        }
        self.postgres[postgres_id] = detail
        return detail

    def summary(self) -> dict[str, Any]:
        """A JSON view of the state (``GET /_fake/state``)."""
        with self.lock:
            return {
                "owners": list(self.owners.values()),
                "services": list(self.services.values()),
                "env": self.env,
                "deploys": [
                    {**d.view(), "serviceId": d.service_id, "env": d.env}
                    for d in sorted(self.deploys.values(), key=lambda d: d.created_at)
                ],
                "postgres": list(self.postgres.values()),
                "logs": self.logs,
                "invalid": self.invalid,
            }


def seeded_state(token: str = "render-test-token", *, owner_name: str = "Acme") -> RenderState:
    """A workspace ``Acme`` (``OWNER_ID``) and one accepted API key; no services yet."""
    state = RenderState()
    state.tokens.add(token)
    state.add_owner(owner_name)
    return state


Route = Callable[["FakeRender", FakeRequest, dict[str, Any], "re.Match[str]"], FakeResponse]
_ROUTES: list[tuple[str, re.Pattern[str], Route]] = []


def route(method: str, pattern: str) -> Callable[[Route], Route]:
    def register(handler: Route) -> Route:
        _ROUTES.append((method, re.compile(f"^{pattern}$"), handler))
        return handler

    return register


def _error(status: int, message: str) -> FakeResponse:
    return FakeResponse.json({"id": uuid.uuid4().hex[:8], "message": message}, status)


def _empty(status: int) -> FakeResponse:
    return FakeResponse(status, b"", {})


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _listed(query: dict[str, list[str]], name: str) -> list[str]:
    """An ``explode: false`` array parameter (comma-separated)."""
    value = _first(query, name)
    return value.split(",") if value else []


def _page(items: list[tuple[str, dict[str, Any]]], key: str, query: dict[str, list[str]]) -> Any:
    """A cursor page ``[{cursor, <key>}]`` after ``cursor``, ``limit`` long."""
    limit = int(_first(query, "limit") or 20)
    cursor = _first(query, "cursor")
    if cursor:
        ids = [c for c, _ in items]
        items = items[ids.index(cursor) + 1 :] if cursor in ids else []
    return [{"cursor": c, key: value} for c, value in items[:limit]]


class FakeRender:
    """The fake's request handler (``FakeServer`` app) over a RenderState."""

    def __init__(self, state: RenderState) -> None:
        self.state = state

    def __call__(self, request: FakeRequest) -> FakeResponse:
        path = request.path
        if path.startswith("/_fake/"):
            return self.control(request)
        if path.startswith("/apps/"):
            return self.app(request)
        api_path = path[3:] if path.startswith("/v1/") else path
        problems = validate_request(
            render_document(), request.method, api_path, request.query, self._body(request)
        )
        if problems:
            with self.state.lock:
                self.state.invalid.append(
                    {"method": request.method, "path": path, "problems": problems}
                )
            return _error(400, "; ".join(problems))
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.state.tokens:
            return _error(401, "unauthorized")
        for method, pattern, handler in _ROUTES:
            match = pattern.match(api_path)
            if match and method == request.method:
                with self.state.lock:
                    response = handler(self, request, request.json() or {}, match)
                response.headers.setdefault("Ratelimit-Limit", "400")
                response.headers.setdefault("Ratelimit-Remaining", "399")
                response.headers.setdefault("Ratelimit-Reset", "42")
                response.headers.setdefault("Rndr-Id", uuid.uuid4().hex[:16])
                return response
        return _error(404, f"not found: {api_path}")

    @staticmethod
    def _body(request: FakeRequest) -> Any:
        return request.json() if request.body else None

    def app(self, request: FakeRequest) -> FakeResponse:
        """The deployed app: ``/apps/<slug>/...``."""
        slug = request.path.split("/")[2]
        with self.state.lock:
            service = next((s for s in self.state.services.values() if s["slug"] == slug), None)
            live = self.state.live(service["id"]) if service else None
            if service is None or live is None or service["suspended"] == "suspended":
                return FakeResponse.text("no such app", 404)
            status = self.state.app_status
            return FakeResponse.json(
                {"status": "ok" if status < 400 else "down", "release": live.image_ref}, status
            )

    def control(self, request: FakeRequest) -> FakeResponse:
        route_name = request.path[len("/_fake/") :].strip("/")
        options = request.json() or {}
        with self.state.lock:
            if route_name == "state":
                return FakeResponse.json(self.state.summary())
            if route_name == "fail-next" and request.method == "POST":
                self.state.fail_next.extend(options.get("statuses", ["update_failed"]))
                return FakeResponse.json({"ok": True})
            if route_name == "app-status" and request.method == "POST":
                self.state.app_status = int(options["status"])
                return FakeResponse.json({"ok": True})
        return FakeResponse.text("unknown control route", 404)


# ---------------------------------------------------------------------- owners, services


@route("GET", "/owners")
def _list_owners(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    owners = list(fake.state.owners.values())
    names = request.query.get("name")
    if names:
        owners = [o for o in owners if o["name"] in names]
    return FakeResponse.json(_page([(o["id"], o) for o in owners], "owner", request.query))


@route("GET", "/services")
def _list_services(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    found = list(fake.state.services.values())
    names = _listed(request.query, "name")
    owners = _listed(request.query, "ownerId")
    if names:
        found = [s for s in found if s["name"] in names]
    if owners:
        found = [s for s in found if s["ownerId"] in owners]
    return FakeResponse.json(_page([(s["id"], s) for s in found], "service", request.query))


@route("POST", "/services")
def _create_service(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    if body["ownerId"] not in fake.state.owners:
        return _error(404, f"not found: {body['ownerId']}")
    if any(s["name"] == body["name"] for s in fake.state.services.values()):
        return _error(409, f"a service named {body['name']} already exists")
    image = (body.get("image") or {}).get("imagePath")
    if not image:
        return _error(400, "the fake only creates image-backed services")
    service = fake.state.create_service(body)
    deploy = fake.state.create_deploy(service["id"], image, trigger="api")
    return FakeResponse.json({"service": service, "deployId": deploy.id}, 201)


def _service(fake: FakeRender, service_id: str) -> dict[str, Any] | None:
    return fake.state.services.get(service_id)


@route("GET", "/services/(?P<sid>[^/]+)")
def _retrieve_service(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    service = _service(fake, m["sid"])
    return FakeResponse.json(service) if service else _error(404, f"not found: {m['sid']}")


@route("PATCH", "/services/(?P<sid>[^/]+)")
def _update_service(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    service = _service(fake, m["sid"])
    if service is None:
        return _error(404, f"not found: {m['sid']}")
    if "image" in body:
        service["imagePath"] = body["image"]["imagePath"]
    details = body.get("serviceDetails") or {}
    if "healthCheckPath" in details:
        service["serviceDetails"]["healthCheckPath"] = details["healthCheckPath"]
    if "dockerCommand" in (details.get("envSpecificDetails") or {}):
        command = details["envSpecificDetails"]["dockerCommand"]
        service["serviceDetails"]["envSpecificDetails"]["dockerCommand"] = command
    service["updatedAt"] = fake.state.clock.stamp()
    return FakeResponse.json(service)


@route("POST", "/services/(?P<sid>[^/]+)/suspend")
def _suspend(fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]) -> FakeResponse:
    service = _service(fake, m["sid"])
    if service is None:
        return _error(404, f"not found: {m['sid']}")
    service["suspended"], service["suspenders"] = "suspended", ["user"]
    return _empty(202)


@route("POST", "/services/(?P<sid>[^/]+)/resume")
def _resume(fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]) -> FakeResponse:
    service = _service(fake, m["sid"])
    if service is None:
        return _error(404, f"not found: {m['sid']}")
    service["suspended"], service["suspenders"] = "not_suspended", []
    fake.state.create_deploy(service["id"], service["imagePath"], trigger="service_resumed")
    return _empty(202)


# ---------------------------------------------------------------------- deploys


@route("GET", "/services/(?P<sid>[^/]+)/deploys")
def _list_deploys(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    if _service(fake, m["sid"]) is None:
        return _error(404, f"not found: {m['sid']}")
    deploys = list(reversed(fake.state.deploys_of(m["sid"])))
    statuses = request.query.get("status")
    if statuses:
        deploys = [d for d in deploys if d.status in statuses]
    return FakeResponse.json(_page([(d.id, d.view()) for d in deploys], "deploy", request.query))


@route("POST", "/services/(?P<sid>[^/]+)/deploys")
def _create_deploy(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    service = _service(fake, m["sid"])
    if service is None:
        return _error(404, f"not found: {m['sid']}")
    if service["suspended"] == "suspended":
        return _error(400, "service is suspended")
    image = body.get("imageUrl") or service["imagePath"]
    if body.get("imageUrl"):
        if _repository(image) != _repository(service["imagePath"]):
            return _error(400, "imageUrl must match the service's host, repository and image name")
        if "@" in image and not fake.state.digest_image_urls:
            return _error(400, "invalid image URL: digests are not supported")
    queued = fake.state.busy(service["id"]) or fake.state.queue_next > 0
    deploy = fake.state.create_deploy(service["id"], image, trigger="api")
    if queued:
        fake.state.queue_next = max(0, fake.state.queue_next - 1)
        deploy.status = "queued"
        return _empty(202)
    return FakeResponse.json(deploy.view(), 201)


@route("GET", "/services/(?P<sid>[^/]+)/deploys/(?P<did>[^/]+)")
def _retrieve_deploy(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    deploy = fake.state.deploys.get(m["did"])
    if deploy is None or deploy.service_id != m["sid"]:
        return _error(404, f"not found: {m['did']}")
    if deploy.status == "queued":  # time passes: what ran before it finishes, then it starts
        for older in fake.state.deploys_of(m["sid"]):
            if older is not deploy and older.status in IN_PROGRESS and older.status != "queued":
                fake.state.finish(older)
        deploy.status = "created"
    fake.state.advance(deploy)
    return FakeResponse.json(deploy.view())


@route("POST", "/services/(?P<sid>[^/]+)/deploys/(?P<did>[^/]+)/cancel")
def _cancel_deploy(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    deploy = fake.state.deploys.get(m["did"])
    if deploy is None or deploy.service_id != m["sid"]:
        return _error(404, f"not found: {m['did']}")
    if deploy.status not in IN_PROGRESS:
        return _error(400, f"deploy {deploy.id} is {deploy.status} and cannot be canceled")
    deploy.status = "canceled"
    deploy.finished_at = fake.state.clock.stamp()
    return FakeResponse.json(deploy.view())


@route("POST", "/services/(?P<sid>[^/]+)/rollback")
def _rollback(fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]) -> FakeResponse:
    old = fake.state.deploys.get(body["deployId"])
    if old is None or old.service_id != m["sid"]:
        return _error(404, f"not found: {body['deployId']}")
    if old.status not in {"live", "deactivated"}:
        return _error(400, f"deploy {old.id} never went live")
    deploy = fake.state.create_deploy(m["sid"], old.image_ref, trigger="rollback")
    deploy.sha = old.sha
    return FakeResponse.json(deploy.view(), 201)


# ---------------------------------------------------------------------- variables


@route("GET", "/services/(?P<sid>[^/]+)/env-vars")
def _list_env(fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]) -> FakeResponse:
    if _service(fake, m["sid"]) is None:
        return _error(404, f"not found: {m['sid']}")
    items = [(k, {"key": k, "value": v}) for k, v in fake.state.env[m["sid"]].items()]
    return FakeResponse.json(_page(items, "envVar", request.query))


@route("PUT", "/services/(?P<sid>[^/]+)/env-vars")
def _replace_env(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    if _service(fake, m["sid"]) is None:
        return _error(404, f"not found: {m['sid']}")
    fake.state.env[m["sid"]] = {v["key"]: v.get("value", "") for v in body or []}
    items = [(k, {"key": k, "value": v}) for k, v in fake.state.env[m["sid"]].items()]
    return FakeResponse.json([{"envVar": value, "cursor": key} for key, value in items])


@route("PUT", "/services/(?P<sid>[^/]+)/env-vars/(?P<key>[^/]+)")
def _put_env(fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]) -> FakeResponse:
    if _service(fake, m["sid"]) is None:
        return _error(404, f"not found: {m['sid']}")
    value = body["value"] if "value" in body else uuid.uuid4().hex
    fake.state.env[m["sid"]][m["key"]] = value
    return FakeResponse.json({"key": m["key"], "value": value})


@route("DELETE", "/services/(?P<sid>[^/]+)/env-vars/(?P<key>[^/]+)")
def _delete_env(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    variables = fake.state.env.get(m["sid"])
    if variables is None or m["key"] not in variables:
        return _error(404, f"not found: {m['key']}")
    del variables[m["key"]]
    return _empty(204)


# ---------------------------------------------------------------------- logs


@route("GET", "/logs")
def _list_logs(fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]) -> FakeResponse:
    query = request.query
    now = fake.state.clock.now()
    start = parse_time(_first(query, "startTime") or rfc3339(now - timedelta(hours=1)))
    end = parse_time(_first(query, "endTime") or rfc3339(now))
    resources = set(query.get("resource") or [])
    types = set(query.get("type") or [])
    owner = _first(query, "ownerId")
    found = []
    for entry in fake.state.logs:
        labels = {label["name"]: label["value"] for label in entry["labels"]}
        service = fake.state.services.get(labels["resource"])
        if labels["resource"] not in resources or service is None or service["ownerId"] != owner:
            continue
        if types and labels["type"] not in types:
            continue
        if start <= parse_time(entry["timestamp"]) <= end:
            found.append(entry)
    limit = int(_first(query, "limit") or LOG_LIMIT_DEFAULT)
    backward = (_first(query, "direction") or "backward") == "backward"
    ordered = list(reversed(found)) if backward else found
    page, more = ordered[:limit], len(ordered) > limit
    tiny = timedelta(microseconds=1)
    if more and backward:
        next_start, next_end = start, parse_time(page[-1]["timestamp"]) - tiny
    elif more:
        next_start, next_end = parse_time(page[-1]["timestamp"]) + tiny, end
    else:
        next_start, next_end = end, end
    return FakeResponse.json(
        {
            "hasMore": more,
            "nextStartTime": rfc3339(next_start),
            "nextEndTime": rfc3339(next_end),
            "logs": page,
        }
    )


# ---------------------------------------------------------------------- Postgres


@route("GET", "/postgres")
def _list_postgres(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    found = list(fake.state.postgres.values())
    names = _listed(request.query, "name")
    owners = _listed(request.query, "ownerId")
    if names:
        found = [p for p in found if p["name"] in names]
    if owners:
        found = [p for p in found if p["owner"]["id"] in owners]
    return FakeResponse.json(_page([(p["id"], p) for p in found], "postgres", request.query))


@route("POST", "/postgres")
def _create_postgres(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    if body["ownerId"] not in fake.state.owners:
        return _error(404, f"not found: {body['ownerId']}")
    return FakeResponse.json(fake.state.create_postgres(body), 201)


@route("GET", "/postgres/(?P<pid>[^/]+)")
def _retrieve_postgres(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    detail = fake.state.postgres.get(m["pid"])
    if detail is None:
        return _error(404, f"not found: {m['pid']}")
    steps = {"unknown": "creating", "creating": "available"}
    detail["status"] = steps.get(detail["status"], detail["status"])
    return FakeResponse.json(detail)


@route("GET", "/postgres/(?P<pid>[^/]+)/connection-info")
def _connection_info(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    info = fake.state.connection.get(m["pid"])
    return FakeResponse.json(info) if info else _error(404, f"not found: {m['pid']}")


@route("GET", "/postgres/(?P<pid>[^/]+)/recovery")
def _recovery_info(
    fake: FakeRender, request: FakeRequest, body: Any, m: re.Match[str]
) -> FakeResponse:
    detail = fake.state.postgres.get(m["pid"])
    if detail is None:
        return _error(404, f"not found: {m['pid']}")
    forced = fake.state.recovery.get(m["pid"])
    if forced is not None:
        return FakeResponse.json(forced)
    if detail["plan"] == "free":
        return FakeResponse.json({"recoveryStatus": "NOT_AVAILABLE"})
    if detail["status"] != "available":
        return FakeResponse.json({"recoveryStatus": "BACKUP_NOT_READY"})
    return FakeResponse.json({"recoveryStatus": "AVAILABLE", "startsAt": detail["createdAt"]})


def _repository(ref: str) -> str:
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name.rsplit(":", 1)[0]
    return name


@contextmanager
def render_server(state: RenderState | None = None) -> Iterator[tuple[FakeServer, RenderState]]:
    """A running fake Render (its API under ``/v1``; the apps under ``/apps/<slug>``)."""
    state = state or seeded_state()
    render_document()
    with FakeServer(FakeRender(state)) as server:
        yield server, state


def main(argv: list[str] | None = None) -> int:
    """Serve a seeded fake Render until SIGINT/SIGTERM; prints ``READY <url>`` first."""
    parser = standalone_parser("tests.fakes.render", __doc__, token="render-test-token")
    parser.add_argument("--owner-name", default="Acme")
    options = parser.parse_args(argv)
    state = seeded_state(options.token, owner_name=options.owner_name)
    server = FakeServer(FakeRender(state), port=options.port)
    render_document()
    return serve_until_signalled(server)


if __name__ == "__main__":
    sys.exit(main())
