"""A stateful fake of Fly.io that checks every request against the real schemas.

One server answers all of Fly's surfaces, so ``SHIPIT_FLY_MACHINES_URL`` and
``SHIPIT_FLY_GRAPHQL_URL`` can both point at it:

- ``/v1/...`` the Machines API: each request is validated (method, path template, query, required
  headers, JSON body, undeclared properties refused) against ``shared/providers/fly/openapi.json``
  with :mod:`tests.fakes.openapi`; an invalid one gets HTTP 400 and is kept in ``state.invalid``.
  Answers are checked against the spec's response schemas too (``state.bad_answers``).
- ``/graphql``: parsed, validated against ``schema.graphql``, variables coerced, then executed
  with resolvers over the same state.
- ``/api/v1/apps/<app>/logs``: the polling logs endpoint (JSON:API entries, ``next_token``).
- ``/_app/<app>/<path>``: the apps' public URLs (``SHIPIT_FLY_APP_URL_TEMPLATE`` =
  ``<fake>/_app/{app}``): 200 while a started machine runs a healthy image, else 503.

Machines move ``starting -> started -> checks passing`` as time passes (``start_delay``,
``check_delay``; at most one step per read of the app's machines);
an image matching an entry of ``state.outcomes`` instead ``crash``es (exits 1, restarts, stops),
``fail``s to launch (state ``failed``) or stays ``unhealthy`` (checks critical, URL 503). Leases
(the wire envelope), vault versions, ``min_secrets_version``, machine versions, IP assignments,
Managed Postgres (``creating -> initializing -> ready``; a ready cluster lists one completed
full backup unless ``state.backups[id]`` says otherwise) and release records are modelled.
``state.releases_enabled = False`` makes the release history query fail (then shipit falls back to
machine config versions).

Standalone, for end-to-end tests::

    python -m tests.fakes.fly --port 0 --token TOKEN
    # prints "READY http://127.0.0.1:PORT" and serves until interrupted
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
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
    build_schema,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from tests.fakes.openapi import Spec, load_document, validate_request, validate_response
from tests.fakes.server import (
    FakeRequest,
    FakeResponse,
    FakeServer,
    serve_until_signalled,
    standalone_parser,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = REPO_ROOT.parent / "shared" / "providers" / "fly"
SPEC_PATH = SHARED / "openapi.json"
SCHEMA_PATH = SHARED / "schema.graphql"
GRAPHQL_PATH = "/graphql"
APP_PREFIX = "/_app/"
_LOGS = re.compile(r"^/api/v1/apps/([^/]+)/logs$")
UNAUTHENTICATED = "You must be authenticated to view this."
# Answers whose wire shape differs from the spec (API.md 6: lease envelope, `content: {}`).
UNCHECKED_ANSWERS = frozenset({"Machines_create_lease"})


@cache
def fly_schema(path: Path = SCHEMA_PATH) -> GraphQLSchema:
    """Fly's GraphQL schema from its SDL (built once per process)."""
    return build_schema(path.read_text())


def fly_spec(path: Path = SPEC_PATH) -> Spec:
    """The Machines API's OpenAPI document, strict: undeclared properties are refused."""
    return load_document(path, strict=True)


def schema_errors(document: str, variables: dict[str, Any] | None = None) -> list[str]:
    """Why ``document`` (with ``variables``) is not valid for Fly's schema ([] if it is)."""
    schema = fly_schema()
    try:
        ast = parse(document)
    except GraphQLError as error:
        return [error.message]
    errors = [e.message for e in validate(schema, ast)]
    if errors or variables is None:
        return errors
    for node in ast.definitions:
        definitions = getattr(node, "variable_definitions", None)
        if definitions is None:
            continue
        coerced = get_variable_values(schema, definitions, variables)
        if isinstance(coerced, list):
            errors.extend(e.message for e in coerced)
    return errors


def ulid() -> str:
    """A fresh ULID (Fly's instance ids and versions)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = (int(time.time() * 1000) << 80) | uuid.uuid4().int >> 48
    return "".join(alphabet[(value >> shift) & 31] for shift in range(125, -1, -5))


def rfc3339(nanos: int) -> str:
    seconds, fraction = divmod(nanos, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:09d}Z"


class _Clock:
    """Strictly increasing Unix nanoseconds."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def nanos(self) -> int:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1000)
            return self._last

    def stamp(self) -> str:
        return rfc3339(self.nanos())


@dataclass
class FakeMachine:
    """One machine and what it went through."""

    id: str
    app: str
    region: str
    config: dict[str, Any]
    instance_id: str
    created_at: str
    updated_at: str
    state: str = "created"
    phase: int = 0
    launched: float = 0.0
    outcome: str = "ok"
    events: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    lease: dict[str, Any] | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    secrets_version: int | None = None

    @property
    def group(self) -> str:
        return str((self.config.get("metadata") or {}).get("fly_process_group") or "app")

    @property
    def image(self) -> str:
        return str(self.config.get("image") or "")


class FlyState:
    """Everything the fake Fly knows; guarded by one lock (requests run in threads)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = _Clock()
        self.tokens: set[str] = set()
        self.orgs: dict[str, dict[str, Any]] = {}
        self.apps: dict[str, dict[str, Any]] = {}
        self.foreign_apps: set[str] = set()
        self.machines: dict[str, FakeMachine] = {}
        self.versions: dict[str, list[dict[str, Any]]] = {}
        self.secrets: dict[str, dict[str, dict[str, str]]] = {}
        self.vault_versions: dict[str, int] = {}
        self.ips: dict[str, list[dict[str, Any]]] = {}
        self.releases: dict[str, list[dict[str, Any]]] = {}
        self.clusters: dict[str, dict[str, Any]] = {}
        self.cluster_reads: dict[str, int] = {}
        self.backups: dict[str, list[dict[str, Any]]] = {}  # cluster id -> PostgresBackup list
        self.logs: dict[str, list[dict[str, Any]]] = {}
        self.outcomes: dict[str, str] = {}
        self.start_delay = 0.03  # seconds from launch to ``started``
        self.check_delay = 0.06  # seconds from launch to check results (or the crash)
        self.releases_enabled = True
        self.invalid: list[dict[str, Any]] = []
        self.bad_answers: list[dict[str, Any]] = []
        self.add_org("personal", "acme-personal")

    # building state -----------------------------------------------------------------------
    def add_org(self, slug: str, raw_slug: str | None = None) -> dict[str, Any]:
        org = {
            "id": "org_" + hashlib.sha256(slug.encode()).hexdigest()[:12],
            "slug": slug,
            "rawSlug": raw_slug or slug,
            "name": slug.title(),
        }
        self.orgs[slug] = org
        if raw_slug:
            self.orgs[raw_slug] = org
        return org

    def add_app(self, name: str, org: str = "personal") -> dict[str, Any]:
        app = {
            "id": name,
            "name": name,
            "status": "pending",
            "org": self.orgs[org]["rawSlug"],
            "machine_count": 0,
            "volume_count": 0,
            "network": "default",
        }
        self.apps[name] = app
        self.secrets.setdefault(name, {})
        self.releases.setdefault(name, [])
        self.logs.setdefault(name, [])
        self.ips.setdefault(name, [])
        return app

    def machines_of(self, app: str, group: str | None = None) -> list[FakeMachine]:
        """The app's machines (of one group), oldest first, destroyed ones left out."""
        found = [
            m
            for m in self.machines.values()
            if m.app == app and m.state != "destroyed" and (group is None or m.group == group)
        ]
        return sorted(found, key=lambda m: (m.created_at, m.id))

    def images(self, app: str, group: str = "web") -> list[str]:
        """The image each machine of a group runs."""
        return [m.image for m in self.machines_of(app, group)]

    def outcome_for(self, image: str) -> str:
        for fragment, outcome in self.outcomes.items():
            if fragment in image:
                return outcome
        return "ok"

    # machines -----------------------------------------------------------------------------
    def event(self, machine: FakeMachine, kind: str, **extra: Any) -> None:
        event = {
            "id": ulid(),
            "type": kind,
            "status": extra.pop("status", kind),
            "source": extra.pop("source", "user"),
            "timestamp": self.clock.nanos() // 1_000_000,
            **extra,
        }
        machine.events.insert(0, event)
        del machine.events[20:]

    def launch(self, machine: FakeMachine, *, launch: bool, kind: str) -> None:
        """A create or update: new version; booted (with the vault) unless ``launch`` is off."""
        machine.instance_id = ulid()
        machine.updated_at = self.clock.stamp()
        self.versions.setdefault(machine.id, []).append(
            {"version": machine.instance_id, "user_config": json.loads(json.dumps(machine.config))}
        )
        self.event(machine, kind)
        machine.checks = []
        machine.phase = 0
        if not launch:
            machine.state = "stopped" if kind == "update" else "created"
            return
        machine.outcome = self.outcome_for(machine.image)
        machine.state = "starting"
        machine.launched = time.monotonic()
        vault = self.secrets.get(machine.app, {})
        machine.secrets = {name: item["value"] for name, item in vault.items()}
        machine.secrets_version = self.vault_versions.get(machine.app, 0)
        self.log(machine, f"Pulling container image {machine.image}")

    def advance_app(self, app: str) -> None:
        """Bring every machine of ``app`` up to date (called on each read)."""
        for machine in self.machines_of(app):
            self.advance(machine)

    def advance(self, machine: FakeMachine) -> None:
        """Move a machine along what has happened since its launch (at most one step per read)."""
        port = _port(machine.config)
        age = time.monotonic() - machine.launched
        if machine.state == "starting" and age >= self.start_delay:
            if machine.outcome == "fail":
                machine.state = "failed"
                self.event(machine, "launch", status="failed", source="flyd")
                self.log(machine, "Error: failed to launch VM: image not found", level="error")
                return
            machine.state = "started"
            self.event(machine, "start", status="started", source="flyd")
            self.log(machine, "Starting init (commit: 5a1b2c3)...")
            self.log(machine, f"listening on 0.0.0.0:{port}")
            return
        if machine.state != "started" or machine.phase > 0 or age < self.check_delay:
            return
        machine.phase = 1
        if machine.outcome == "crash":
            self.log(
                machine, "Traceback (most recent call last): RuntimeError: boom", level="error"
            )
            machine.state = "stopped"
            self.event(
                machine,
                "exit",
                status="stopped",
                source="flyd",
                request={
                    "exit_event": {
                        "exit_code": 1,
                        "oom_killed": False,
                        "requested_stop": False,
                        "restarting": False,
                        "guest_exit_code": 1,
                    },
                    "restart_count": 3,
                },
            )
            return
        status = "critical" if machine.outcome == "unhealthy" else "passing"
        output = "HTTP GET /health: 503 Service Unavailable" if status == "critical" else "OK"
        machine.checks = [
            {
                "name": f"servicecheck-00-http-{port}",
                "status": status,
                "output": output,
                "updated_at": self.clock.stamp(),
            },
            {
                "name": "bg_deployments_compat",
                "status": "passing",
                "output": "",
                "updated_at": self.clock.stamp(),
            },
        ]

    def log(self, machine: FakeMachine, message: str, *, level: str = "info") -> None:
        nanos = self.clock.nanos()
        self.logs.setdefault(machine.app, []).append(
            {
                "id": ulid(),
                "type": "logs",
                "attributes": {
                    "timestamp": rfc3339(nanos),
                    "message": message,
                    "level": level,
                    "instance": machine.id,
                    "region": machine.region,
                    "meta": {
                        "instance": machine.id,
                        "region": machine.region,
                        "event": {"provider": "app"},
                    },
                },
                "_nanos": nanos,
            }
        )

    def healthy(self, app: str) -> bool:
        """What the app's public URL answers: a started machine with passing checks."""
        return any(
            m.state == "started" and m.outcome == "ok" and m.checks for m in self.machines_of(app)
        )

    def view(self, machine: FakeMachine) -> dict[str, Any]:
        """A Machine as the API answers it."""
        image = machine.image
        name, _, digest = image.partition("@")
        registry, _, repository = name.partition("/")
        ref: dict[str, Any] = {
            "registry": registry,
            "repository": repository.split(":")[0],
            "tag": "",
            "digest": digest,
            "labels": {},
        }
        return {
            "id": machine.id,
            "name": f"{machine.app}-{machine.id[:6]}",
            "state": machine.state,
            "region": machine.region,
            "instance_id": machine.instance_id,
            "private_ip": "fdaa:0:1:a7b:1::2",
            "config": json.loads(json.dumps(machine.config)),
            "image_ref": ref,
            "created_at": machine.created_at,
            "updated_at": machine.updated_at,
            "events": list(machine.events),
            "checks": list(machine.checks),
            "host_status": "ok",
        }

    def summary(self) -> dict[str, Any]:
        """A JSON view for ``GET /_fake/state``."""
        return {
            "apps": sorted(self.apps),
            "machines": [
                {"id": m.id, "app": m.app, "state": m.state, "image": m.image, "group": m.group}
                for m in self.machines.values()
            ],
            "secrets": {app: sorted(v) for app, v in self.secrets.items()},
            "releases": {
                app: [{k: r[k] for k in ("version", "imageRef", "status")} for r in items]
                for app, items in self.releases.items()
            },
            "invalid": self.invalid,
            "bad_answers": self.bad_answers,
        }


def _port(config: dict[str, Any]) -> int:
    services = config.get("services") or [{}]
    return int(services[0].get("internal_port") or 8080)


def _error(status: int, message: str, code: str | None = None) -> FakeResponse:
    body: dict[str, Any] = {"error": message}
    if code:
        body["status"] = code
    return FakeResponse.json(body, status, {"fly-request-id": uuid.uuid4().hex[:20]})


class FakeFly:
    """The fake's request handler (``FakeServer`` app) over a FlyState."""

    def __init__(self, state: FlyState) -> None:
        self.state = state

    def __call__(self, request: FakeRequest) -> FakeResponse:
        path = request.path
        if path.startswith("/_fake/"):
            return self.control(request)
        if path.startswith(APP_PREFIX):
            return self.public(request)
        if path == GRAPHQL_PATH and request.method == "POST":
            return self.graphql(request)
        logs = _LOGS.match(path)
        if logs and request.method == "GET":
            return self.logs(request, logs.group(1))
        if path.startswith("/v1/"):
            return self.rest(request)
        return FakeResponse.text("not found", 404)

    def _authorized(self, request: FakeRequest) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme in {"Bearer", "FlyV1"} and token in self.state.tokens

    # Machines REST --------------------------------------------------------------------------
    def rest(self, request: FakeRequest) -> FakeResponse:
        body = request.json() if request.body else None
        spec = fly_spec()
        problems = validate_request(
            spec, request.method, request.path, request.query, body, headers=request.headers
        )
        if problems:
            with self.state.lock:
                self.state.invalid.append(
                    {"method": request.method, "path": request.path, "problems": list(problems)}
                )
            return _error(400, "; ".join(problems))
        if not self._authorized(request):
            return _error(401, UNAUTHENTICATED)
        operation = str(problems.operation_id)
        handler = getattr(self, "op_" + operation, None)
        if handler is None:
            return _error(501, f"the fake does not implement {operation}")
        with self.state.lock:
            response = handler(request, body or {}, _path_values(request.path))
        documented = str(response.status) in next(
            o.responses for o in spec.operations if o.id == operation
        )
        checked = response.status < 400 or documented
        if operation not in UNCHECKED_ANSWERS and response.body and checked:
            answer = json.loads(response.body)
            wrong = validate_response(spec, operation, response.status, answer)
            if wrong:
                with self.state.lock:
                    self.state.bad_answers.append({"operation": operation, "problems": wrong})
        response.headers.setdefault("fly-request-id", uuid.uuid4().hex[:20])
        return response

    def _app(self, name: str) -> dict[str, Any] | None:
        return self.state.apps.get(name)

    def op_Apps_show(self, request: FakeRequest, body: Any, p: dict[str, str]) -> FakeResponse:
        if p["app"] in self.state.foreign_apps:
            return _error(403, "Forbidden")
        app = self._app(p["app"])
        if app is None:
            return _error(404, f"app {p['app']} not found")
        machines = self.state.machines_of(app["name"])
        org = self.state.orgs[app["org"]]
        return FakeResponse.json(
            {
                "id": app["id"],
                "name": app["name"],
                "status": "deployed" if machines else "pending",
                "machine_count": len(machines),
                "volume_count": 0,
                "network": app["network"],
                "organization": {"slug": org["rawSlug"], "name": org["name"]},
            }
        )

    def op_Apps_create(self, request: FakeRequest, body: Any, p: dict[str, str]) -> FakeResponse:
        name = str(body.get("name") or "")
        if name in self.state.apps or name in self.state.foreign_apps:
            return _error(422, "Validation failed: Name has already been taken", "name_taken")
        if body.get("org_slug") not in self.state.orgs:
            return _error(404, f"organization {body.get('org_slug')} not found")
        self.state.add_app(name, str(body["org_slug"]))
        return FakeResponse(201, b"", {})

    def op_App_IPAssignments_list(self, request: FakeRequest, body: Any, p: dict) -> FakeResponse:
        return FakeResponse.json({"ips": self.state.ips.get(p["app"], [])})

    def op_App_IPAssignments_create(
        self, request: FakeRequest, body: Any, p: dict[str, str]
    ) -> FakeResponse:
        kind = body.get("type")
        ip = {
            "ip": "66.241.124.7" if kind == "shared_v4" else f"2a09:8280:1::{uuid.uuid4().hex[:4]}",
            "region": "global",
            "service_name": "app",
            "shared": kind == "shared_v4",
            "created_at": self.state.clock.stamp(),
        }
        self.state.ips.setdefault(p["app"], []).append(ip)
        return FakeResponse.json(ip)

    def op_Machines_list(self, request: FakeRequest, body: Any, p: dict[str, str]) -> FakeResponse:
        if self._app(p["app"]) is None:
            return _error(404, "app not found")
        self.state.advance_app(p["app"])
        machines = self.state.machines_of(p["app"])
        for key, values in request.query.items():
            if key.startswith("metadata."):
                wanted = key[len("metadata.") :]
                machines = [
                    m for m in machines if (m.config.get("metadata") or {}).get(wanted) in values
                ]
        return FakeResponse.json([self.state.view(m) for m in machines])

    def _machine(self, p: dict[str, str]) -> FakeMachine | FakeResponse:
        machine = self.state.machines.get(p.get("machine", ""))
        if machine is None or machine.app != p["app"] or machine.state == "destroyed":
            return _error(404, "machine not found")
        return machine

    def op_Machines_show(self, request: FakeRequest, body: Any, p: dict[str, str]) -> FakeResponse:
        machine = self._machine(p)
        if isinstance(machine, FakeResponse):
            return machine
        self.state.advance(machine)
        return FakeResponse.json(self.state.view(machine))

    def _vault_check(self, app: str, body: Any) -> FakeResponse | None:
        wanted = body.get("min_secrets_version")
        if wanted is not None and wanted > self.state.vault_versions.get(app, 0):
            return _error(400, f"secrets version {wanted} is not available yet")
        return None

    def op_Machines_create(
        self, request: FakeRequest, body: Any, p: dict[str, str]
    ) -> FakeResponse:
        app = self._app(p["app"])
        if app is None:
            return _error(404, "app not found")
        refused = self._vault_check(p["app"], body)
        if refused:
            return refused
        now = self.state.clock.stamp()
        machine = FakeMachine(
            id=uuid.uuid4().hex[:14],
            app=p["app"],
            region=str(body.get("region") or "iad"),
            config=dict(body["config"]),
            instance_id="",
            created_at=now,
            updated_at=now,
        )
        self.state.machines[machine.id] = machine
        self.state.launch(machine, launch=not body.get("skip_launch"), kind="launch")
        return FakeResponse.json(self.state.view(machine))

    def _leased(self, machine: FakeMachine, request: FakeRequest) -> FakeResponse | None:
        lease = machine.lease
        if lease is None or lease["expires_at"] < time.time():
            return None
        if request.headers.get("fly-machine-lease-nonce") != lease["nonce"]:
            return _error(409, "machine has an active lease held by someone else")
        return None

    def op_Machines_update(
        self, request: FakeRequest, body: Any, p: dict[str, str]
    ) -> FakeResponse:
        machine = self._machine(p)
        if isinstance(machine, FakeResponse):
            return machine
        refused = self._leased(machine, request) or self._vault_check(p["app"], body)
        if refused:
            return refused
        current = body.get("current_version")
        if current and current != machine.instance_id:
            return _error(412, "current_version does not match the machine's version")
        machine.config = dict(body["config"])
        self.state.launch(machine, launch=not body.get("skip_launch"), kind="update")
        return FakeResponse.json(self.state.view(machine))

    def op_Machines_delete(
        self, request: FakeRequest, body: Any, p: dict[str, str]
    ) -> FakeResponse:
        machine = self._machine(p)
        if isinstance(machine, FakeResponse):
            return machine
        machine.state = "destroyed"
        return FakeResponse.json({"ok": True})

    def op_Machines_start(self, request: FakeRequest, body: Any, p: dict[str, str]) -> FakeResponse:
        machine = self._machine(p)
        if isinstance(machine, FakeResponse):
            return machine
        previous = machine.state
        machine.outcome = self.state.outcome_for(machine.image)
        machine.state, machine.phase, machine.checks = "starting", 0, []
        machine.launched = time.monotonic()
        self.state.event(machine, "start", status="starting")
        return FakeResponse.json({"message": "", "status": "success", "previous_state": previous})

    def op_Machines_stop(self, request: FakeRequest, body: Any, p: dict[str, str]) -> FakeResponse:
        machine = self._machine(p)
        if isinstance(machine, FakeResponse):
            return machine
        machine.state, machine.checks = "stopped", []
        self.state.event(
            machine,
            "exit",
            status="stopped",
            request={"exit_event": {"exit_code": 0, "requested_stop": True}, "restart_count": 0},
        )
        return FakeResponse.json({"ok": True})

    def op_Machines_list_versions(
        self, request: FakeRequest, body: Any, p: dict[str, str]
    ) -> FakeResponse:
        machine = self._machine(p)
        if isinstance(machine, FakeResponse):
            return machine
        return FakeResponse.json(list(reversed(self.state.versions.get(machine.id, []))))

    def op_Machines_create_lease(
        self, request: FakeRequest, body: Any, p: dict[str, str]
    ) -> FakeResponse:
        machine = self._machine(p)
        if isinstance(machine, FakeResponse):
            return machine
        held = machine.lease
        if held and held["expires_at"] >= time.time():
            return _error(409, "lease currently held by another owner")
        lease = {
            "nonce": uuid.uuid4().hex[:12],
            "expires_at": int(time.time()) + int(body.get("ttl") or 30),
            "owner": "deploy@example.com",
            "version": machine.instance_id,
            "description": str(body.get("description") or ""),
        }
        machine.lease = lease
        envelope = {"status": "success", "data": lease, "message": "", "code": ""}
        return FakeResponse.json(envelope, 201)

    def op_Machines_release_lease(
        self, request: FakeRequest, body: Any, p: dict[str, str]
    ) -> FakeResponse:
        machine = self._machine(p)
        if isinstance(machine, FakeResponse):
            return machine
        held = machine.lease
        if held and request.headers.get("fly-machine-lease-nonce") != held["nonce"]:
            return _error(409, "the nonce does not match the lease")
        machine.lease = None
        return FakeResponse.json({"ok": True})

    def op_Secrets_list(self, request: FakeRequest, body: Any, p: dict[str, str]) -> FakeResponse:
        vault = self.state.secrets.get(p["app"], {})
        return FakeResponse.json(
            {
                "secrets": [
                    {k: v for k, v in item.items() if k != "value"} for item in vault.values()
                ]
            }
        )

    def _bump(self, app: str) -> int:
        self.state.vault_versions[app] = self.state.vault_versions.get(app, 0) + 1
        return self.state.vault_versions[app]

    def op_Secrets_update(self, request: FakeRequest, body: Any, p: dict[str, str]) -> FakeResponse:
        if self._app(p["app"]) is None:
            return _error(404, "app not found")
        vault = self.state.secrets.setdefault(p["app"], {})
        now = self.state.clock.stamp()
        for name, value in (body.get("values") or {}).items():
            created = vault.get(name, {}).get("created_at", now)
            vault[name] = {
                "name": name,
                "value": value,
                "digest": hashlib.sha256(value.encode()).hexdigest()[:16],
                "created_at": created,
                "updated_at": now,
            }
        version = self._bump(p["app"])
        listed = [{k: v for k, v in item.items() if k != "value"} for item in vault.values()]
        return FakeResponse.json({"secrets": listed, "version": version, "Version": version})

    def op_Secret_delete(self, request: FakeRequest, body: Any, p: dict[str, str]) -> FakeResponse:
        vault = self.state.secrets.get(p["app"], {})
        if p["name"] not in vault:
            return _error(404, f"secret {p['name']} not found")
        del vault[p["name"]]
        version = self._bump(p["app"])
        return FakeResponse.json({"version": version, "Version": version})

    def op_Postgres_list(self, request: FakeRequest, body: Any, p: dict[str, str]) -> FakeResponse:
        org = request.query["org_slug"][0]
        if org not in {o["rawSlug"] for o in self.state.orgs.values()}:
            return _error(404, f"organization {org} not found (use the real slug)")
        found = [
            {k: c[k] for k in ("id", "name", "plan", "region", "status", "created_at")}
            | {"attached_apps": [{"name": n} for n in c["attached"]]}
            for c in self.state.clusters.values()
            if c["org"] == org
        ]
        return FakeResponse.json({"data": found})

    def op_Postgres_create(
        self, request: FakeRequest, body: Any, p: dict[str, str]
    ) -> FakeResponse:
        org = body["org_slug"]
        if org not in {o["rawSlug"] for o in self.state.orgs.values()}:
            return _error(404, f"organization {org} not found (use the real slug)")
        cluster_id = "pg" + uuid.uuid4().hex[:12]
        self.state.clusters[cluster_id] = {
            "id": cluster_id,
            "name": body.get("name") or cluster_id,
            "plan": body["plan"],
            "region": body["region"],
            "status": "creating",
            "created_at": self.state.clock.stamp(),
            "org": org,
            "attached": [],
            "password": "pw-" + uuid.uuid4().hex,
        }
        return FakeResponse.json({"data": self._cluster(cluster_id)}, 201)

    def _cluster(self, cluster_id: str) -> dict[str, Any]:
        cluster = self.state.clusters[cluster_id]
        view: dict[str, Any] = {
            k: cluster[k] for k in ("id", "name", "plan", "region", "status", "created_at")
        }
        view["pg_major_version"] = "17"
        view["attached_apps"] = [{"name": n} for n in cluster["attached"]]
        if cluster["status"] == "ready":
            view["endpoints"] = {
                "primary": {
                    "direct": {"host": f"direct.{cluster_id}.flympg.net", "port": 5432},
                    "pooler": {"host": f"pgbouncer.{cluster_id}.flympg.net", "port": 5432},
                }
            }
        return view

    def op_Postgres_show(self, request: FakeRequest, body: Any, p: dict[str, str]) -> FakeResponse:
        cluster = self.state.clusters.get(p["cluster"])
        if cluster is None:
            return _error(404, "cluster not found")
        steps = ("creating", "initializing", "ready")
        if cluster["status"] in steps[:-1]:
            cluster["status"] = steps[steps.index(cluster["status"]) + 1]
        return FakeResponse.json({"data": self._cluster(p["cluster"])})

    def op_Postgres_backups_list(
        self, request: FakeRequest, body: Any, p: dict[str, str]
    ) -> FakeResponse:
        cluster = self.state.clusters.get(p["cluster"])
        if cluster is None:
            return _error(404, "cluster not found")
        if p["cluster"] not in self.state.backups and cluster["status"] == "ready":
            stamp = self.state.clock.stamp()
            self.state.backups[p["cluster"]] = [
                {
                    "id": "bk-" + uuid.uuid4().hex[:10],
                    "status": "completed",
                    "type": "full",
                    "started_at": stamp,
                    "finished_at": stamp,
                    "size_bytes": 8_388_608,
                }
            ]
        return FakeResponse.json({"data": self.state.backups.get(p["cluster"], [])})

    def op_Postgres_users_credentials(
        self, request: FakeRequest, body: Any, p: dict[str, str]
    ) -> FakeResponse:
        cluster = self.state.clusters.get(p["cluster"])
        if cluster is None or p["user"] != "fly-user":
            return _error(404, "user not found")
        return FakeResponse.json(
            {"data": {"username": "fly-user", "password": cluster["password"]}}
        )

    def op_Postgres_attachments_create(
        self, request: FakeRequest, body: Any, p: dict[str, str]
    ) -> FakeResponse:
        cluster = self.state.clusters.get(p["cluster"])
        if cluster is None:
            return _error(404, "cluster not found")
        data = {
            "app_name": body["app_name"],
            "attached_at": self.state.clock.stamp(),
            "postgres_cluster_id": p["cluster"],
        }
        if body["app_name"] in cluster["attached"]:
            return FakeResponse.json({"data": data})
        cluster["attached"].append(body["app_name"])
        return FakeResponse.json({"data": data}, 201)

    # logs and the apps' URLs ----------------------------------------------------------------
    def logs(self, request: FakeRequest, app: str) -> FakeResponse:
        if not self._authorized(request):
            return _error(401, UNAUTHENTICATED)
        with self.state.lock:
            if app not in self.state.apps:
                return _error(404, "app not found")
            entries = list(self.state.logs.get(app, []))
        token = (request.query.get("next_token") or [""])[0]
        if token:
            entries = [e for e in entries if e["_nanos"] > int(token)]
        else:
            cutoff = time.time_ns() - 24 * 3600 * 1_000_000_000
            entries = [e for e in entries if e["_nanos"] > cutoff][-100:]
        instance = (request.query.get("instance") or [""])[0]
        if instance:
            entries = [e for e in entries if e["attributes"]["instance"] == instance]
        following = str(entries[-1]["_nanos"]) if entries else token
        data = [{k: v for k, v in e.items() if not k.startswith("_")} for e in entries]
        return FakeResponse.json({"data": data, "meta": {"next_token": following}})

    def public(self, request: FakeRequest) -> FakeResponse:
        app = request.path[len(APP_PREFIX) :].split("/", 1)[0]
        with self.state.lock:
            healthy = app in self.state.apps and self.state.healthy(app)
        if healthy:
            return FakeResponse.json({"status": "ok"})
        return FakeResponse.json({"status": "unavailable"}, 503)

    # GraphQL --------------------------------------------------------------------------------
    def graphql(self, request: FakeRequest) -> FakeResponse:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return FakeResponse.json({"errors": [{"message": "a query is required"}]}, 400)
        schema = fly_schema()
        variables = body.get("variables") or {}
        operation_name = body.get("operationName")
        try:
            document = parse(body["query"])
        except GraphQLError as error:
            return self._invalid(body, [error.message])
        errors = [e.message for e in validate(schema, document)]
        if errors:
            return self._invalid(body, errors)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return self._invalid(body, ["unknown operation"])
        coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return self._invalid(body, [e.message for e in coerced])
        if not self._authorized(request):
            return FakeResponse.json({"data": None, "errors": [{"message": UNAUTHENTICATED}]})
        with self.state.lock:
            result = execute(
                schema,
                document,
                root_value=Resolvers(self.state),
                variable_values=variables,
                operation_name=operation_name,
            )
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        return FakeResponse.json(answer, headers={"fly-request-id": uuid.uuid4().hex[:20]})

    def _invalid(self, body: dict[str, Any], errors: list[str]) -> FakeResponse:
        with self.state.lock:
            self.state.invalid.append({"operation": body.get("operationName"), "errors": errors})
        return FakeResponse.json({"errors": [{"message": m} for m in errors]}, 422)

    # test controls --------------------------------------------------------------------------
    def control(self, request: FakeRequest) -> FakeResponse:
        route = request.path[len("/_fake/") :].strip("/")
        options = request.json() or {}
        with self.state.lock:
            if route == "state":
                return FakeResponse.json(self.state.summary())
            if route == "outcome" and request.method == "POST":
                self.state.outcomes[options["image"]] = options["outcome"]
                return FakeResponse.json({"ok": True})
            if route == "releases" and request.method == "POST":
                self.state.releases_enabled = bool(options["enabled"])
                return FakeResponse.json({"ok": True})
        return FakeResponse.text("unknown control route", 404)


def _path_values(path: str) -> dict[str, str]:
    """``app``, ``machine``, ``name``, ``cluster``, ``user`` from a Machines API path."""
    parts = path.strip("/").split("/")[1:]  # drop "v1"
    values: dict[str, str] = {}
    if parts[:1] == ["apps"] and len(parts) > 1:
        values["app"] = parts[1]
        if len(parts) > 3 and parts[2] == "machines":
            values["machine"] = parts[3]
        if len(parts) > 3 and parts[2] == "secrets":
            values["name"] = parts[3]
    if parts[:1] == ["postgres"] and len(parts) > 1:
        values["cluster"] = parts[1]
        if len(parts) > 3 and parts[2] == "users":
            values["user"] = parts[3]
    return values


class Resolvers:
    """Root resolvers of the fake's GraphQL schema (fields as dict keys or callables)."""

    def __init__(self, state: FlyState) -> None:
        self.state = state

    def organization(self, info: Any, slug: str | None = None, **_: Any) -> dict[str, Any]:
        org = self.state.orgs.get(slug or "personal")
        if org is None:
            raise GraphQLError("Could not find Organization")
        return dict(org)

    def viewer(self, info: Any) -> dict[str, Any]:
        return {"email": "deploy@example.com", "name": "Deploy"}

    def app(self, info: Any, name: str | None = None, **_: Any) -> dict[str, Any]:
        state = self.state
        app = state.apps.get(name or "")
        if app is None:
            raise GraphQLError("Could not find App")

        def releases(info: Any, first: int | None = None, **_: Any) -> dict[str, Any]:
            if not state.releases_enabled:
                raise GraphQLError("releases are not available for this app")
            nodes = sorted(state.releases[app["name"]], key=lambda r: r["version"], reverse=True)
            nodes = nodes[: first or len(nodes)]
            return {
                "nodes": nodes,
                "edges": [{"node": n, "cursor": str(n["version"])} for n in nodes],
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
                "totalCount": len(nodes),
            }

        def image(info: Any, ref: str) -> dict[str, Any] | None:
            for machine in state.machines_of(app["name"]):
                if machine.image.split("@")[0] == ref.split("@")[0].rsplit(":", 1)[0]:
                    name, _, digest = machine.image.partition("@")
                    registry, _, repository = name.partition("/")
                    return {
                        "id": digest,
                        "ref": ref,
                        "digest": digest,
                        "registry": registry,
                        "repository": repository,
                        "tag": ref.rsplit(":", 1)[-1] if ":" in ref.split("/")[-1] else None,
                    }
            return None

        return {
            "id": app["id"],
            "name": app["name"],
            "status": "deployed" if state.machines_of(app["name"]) else "pending",
            "releasesUnprocessed": releases,
            "image": image,
            "organization": {"slug": app["org"]},
        }

    def createApp(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        org = next(
            (o for o in self.state.orgs.values() if o["id"] == input["organizationId"]), None
        )
        if org is None:
            raise GraphQLError("Could not find Organization")
        app = self.state.add_app(str(input["name"]), org["slug"])
        return {"app": {**app, "organization": {"slug": org["rawSlug"]}}}

    def createRelease(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        app = self.state.apps.get(str(input["appId"]))
        if app is None:
            raise GraphQLError("Could not find App")
        items = self.state.releases[app["name"]]
        release = {
            "id": "rel_" + uuid.uuid4().hex[:10],
            "version": len(items) + 1,
            "status": "pending",
            "stable": False,
            "reason": "deploy",
            "description": f"Deploy image {input['image']}",
            "imageRef": input["image"],
            "metadata": None,
            "createdAt": self.state.clock.stamp()[:19] + "Z",
            "user": {"email": "deploy@example.com"},
        }
        items.append(release)
        return {"release": release}

    def updateRelease(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        for items in self.state.releases.values():
            for release in items:
                if release["id"] == input["releaseId"]:
                    if input.get("status"):
                        release["status"] = input["status"]
                        release["stable"] = input["status"] == "complete"
                    if input.get("metadata") is not None:
                        release["metadata"] = input["metadata"]
                    return {"release": release}
        raise GraphQLError("Could not find Release")


@contextmanager
def fly_server(state: FlyState | None = None) -> Iterator[tuple[FakeServer, FlyState]]:
    """A running fake Fly (in a thread) and its state."""
    state = state or FlyState()
    with FakeServer(FakeFly(state)) as server:
        yield server, state


def fly_environment(url: str, token: str) -> dict[str, str]:
    """The variables that point shipit at the fake at ``url``."""
    return {
        "SHIPIT_FLY_MACHINES_URL": url,
        "SHIPIT_FLY_GRAPHQL_URL": url,
        "SHIPIT_FLY_APP_URL_TEMPLATE": f"{url}{APP_PREFIX}{{app}}",
        "FLY_API_TOKEN": token,
    }


def main(argv: list[str] | None = None) -> int:
    """Serve a fake Fly until SIGINT/SIGTERM; prints ``READY <url>`` first."""
    parser = standalone_parser("tests.fakes.fly", __doc__, token="fly-test-token")
    parser.add_argument("--apps", default="", help="apps that exist already (comma list)")
    options = parser.parse_args(argv)
    state = FlyState()
    state.tokens.add(options.token)
    for name in filter(None, options.apps.split(",")):
        state.add_app(name)
    server = FakeServer(FakeFly(state), port=options.port)
    fly_schema()
    fly_spec()
    return serve_until_signalled(server)


if __name__ == "__main__":
    sys.exit(main())
