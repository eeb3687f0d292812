"""Machines of one Fly app: their configs as shipit wants them, and the calls that change them.

A machine config is always sent whole (the API has no partial update, API.md 4.2). For an
existing machine shipit clones its current config and changes only what shipit.toml owns: the
image, the env it lists, the guest size, the service on ``port`` with its health check, the start
command, and metadata (``fly_platform_version``/``fly_process_group`` so flyctl and the dashboard
see the machine; ``shipit_*`` keys for release identity). Every write holds the machine's lease.
A create is not idempotent: it carries a fresh ``shipit_create`` tag, and after an ambiguous
failure the machine is looked up by that tag instead of being created again (API.md 1.3).
"""

from __future__ import annotations

import contextlib
import copy
import shlex
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from shipit.config.models import FlyBlock
from shipit.config.overlay import ServiceSpec
from shipit.errors import ProviderAPIError
from shipit.providers.fly import operations as ops
from shipit.providers.fly import parse
from shipit.providers.fly.client import FlyClient

LEASE_TTL: Final = 60
LEASE_HEADER: Final = "fly-machine-lease-nonce"
PLATFORM_VERSION: Final = "v2"
SHARED_MB_PER_CPU: Final = 256
PERFORMANCE_MB_PER_CPU: Final = 2048


def guest(block: FlyBlock) -> dict[str, Any]:
    """The machine size: ``shared-cpu-Nx`` / ``performance-Nx`` and at least its preset memory."""
    size = block.vm_size.strip().lower()
    kind = "performance" if size.startswith("performance") else "shared"
    count = 1
    tail = size.rsplit("-", 1)[-1]
    if tail.endswith("x") and tail[:-1].isdigit():
        count = max(1, int(tail[:-1]))
    per_cpu = PERFORMANCE_MB_PER_CPU if kind == "performance" else SHARED_MB_PER_CPU
    return {"cpu_kind": kind, "cpus": count, "memory_mb": max(block.memory_mb, per_cpu * count)}


def health_check(service: ServiceSpec) -> dict[str, Any]:
    """The proxy's check of the service: GET of the health path, else a TCP connect."""
    if service.health_path:
        return {
            "type": "http",
            "port": service.port,
            "method": "GET",
            "path": service.health_path,
            "interval": "15s",
            "timeout": "5s",
            "grace_period": "10s",
        }
    return {
        "type": "tcp",
        "port": service.port,
        "interval": "15s",
        "timeout": "2s",
        "grace_period": "5s",
    }


def _autostop(value: Any) -> str:
    """Responses carry booleans for ``off``/``stop``; requests take the strings."""
    if isinstance(value, bool):
        return "stop" if value else "off"
    return str(value) if value in {"off", "stop", "suspend"} else "stop"


def web_service(service: ServiceSpec, current: Any = None) -> dict[str, Any]:
    """The public HTTP(S) service on the service's port; routing settings of ``current`` kept."""
    entry: dict[str, Any] = {
        "protocol": "tcp",
        "internal_port": service.port,
        "autostop": "stop",
        "autostart": True,
        "min_machines_running": 0,
        "ports": [
            {"port": 80, "handlers": ["http"], "force_https": True},
            {"port": 443, "handlers": ["tls", "http"]},
        ],
    }
    if isinstance(current, Mapping):
        for key in ("autostart", "min_machines_running", "ports", "concurrency"):
            if current.get(key) is not None:
                entry[key] = copy.deepcopy(current[key])
        if "autostop" in current:
            entry["autostop"] = _autostop(current["autostop"])
    entry["checks"] = [health_check(service)]
    return entry


def _duration(value: Any) -> Any:
    """Durations go out as strings; integer nanoseconds (fly-go's other form) become ``Nms``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value // 1_000_000}ms"
    return value


def sendable(config: Mapping[str, Any]) -> dict[str, Any]:
    """A config as the API's request schema spells it (a read-back config may not be)."""
    result = copy.deepcopy(dict(config))
    checks = [c for c in (result.get("checks") or {}).values() if isinstance(c, dict)]
    for service in result.get("services") or []:
        if not isinstance(service, dict):
            continue
        if "autostop" in service:
            service["autostop"] = _autostop(service["autostop"])
        checks.extend(c for c in service.get("checks") or [] if isinstance(c, dict))
    for check in checks:
        for key in ("interval", "timeout", "grace_period"):
            if key in check:
                check[key] = _duration(check[key])
    stop = result.get("stop_config")
    if isinstance(stop, dict) and "timeout" in stop:
        stop["timeout"] = _duration(stop["timeout"])
    return result


@dataclass(frozen=True)
class ConfigBuilder:
    """Turns a service (and a machine's current config) into the config shipit deploys."""

    service: ServiceSpec
    block: FlyBlock
    image: str
    group: str
    metadata: Mapping[str, str]
    env: Mapping[str, str]
    unset: frozenset[str] = field(default_factory=frozenset)

    def env_for(self, current: Mapping[str, Any] | None) -> dict[str, str]:
        """The machine's env: what it has, then shipit's values; removed and secret names out."""
        merged = {str(k): str(v) for k, v in (current or {}).items()}
        merged.update(self.env)
        merged["PORT"] = str(self.service.port)
        drop = self.unset | set(self.service.secrets)
        return {k: v for k, v in sorted(merged.items()) if k not in drop}

    def _stamp(self, config: dict[str, Any]) -> dict[str, Any]:
        config["image"] = self.image
        config["guest"] = {**(config.get("guest") or {}), **guest(self.block)}
        if self.service.start:
            init = dict(config.get("init") or {})
            init["cmd"] = shlex.split(self.service.start)
            config["init"] = init
        metadata = {str(k): str(v) for k, v in (config.get("metadata") or {}).items()}
        metadata.pop(parse.META_RESTORED, None)
        metadata.pop(parse.META_CREATE, None)
        metadata.update(
            {parse.META_PLATFORM: PLATFORM_VERSION, parse.META_GROUP: self.group, **self.metadata}
        )
        config["metadata"] = {k: v for k, v in metadata.items() if v}
        return config

    def updated(self, current: Mapping[str, Any]) -> dict[str, Any]:
        """``current`` with the new image, env, size, service and metadata."""
        config = copy.deepcopy(dict(current))
        config["env"] = self.env_for(current.get("env"))
        services = [s for s in config.get("services") or [] if isinstance(s, Mapping)]
        ours = [s for s in services if s.get("internal_port") == self.service.port]
        others = [s for s in services if s.get("internal_port") != self.service.port]
        previous = ours[0] if ours else (others.pop(0) if others else None)
        config["services"] = [web_service(self.service, previous), *others]
        return self._stamp(config)

    def fresh(self, template: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The config of a new machine: cloned from a sibling's when there is one."""
        if template is not None:
            cloned = self.updated(template)
            cloned.pop("mounts", None)  # volumes belong to one machine
            return cloned
        config: dict[str, Any] = {
            "env": self.env_for(None),
            "restart": {"policy": "on-failure", "max_retries": 10},
            "services": [web_service(self.service)],
        }
        return self._stamp(config)


class Machines:
    """The Machines API calls for one app."""

    def __init__(self, api: FlyClient, app: str) -> None:
        self.api = api
        self.app = app

    def all(self) -> list[dict[str, Any]]:
        """Every machine of the app (destroyed ones left out by the API)."""
        found = self.api.rest(ops.MACHINES, app=self.app)
        return [m for m in found or [] if isinstance(m, dict)]

    def group(self, group: str) -> list[dict[str, Any]]:
        """Active machines of one process group, oldest first."""
        machines = [m for m in self.all() if parse.in_group(m, group)]
        return sorted(machines, key=lambda m: (str(m.get("created_at") or ""), str(m.get("id"))))

    def versions(self, machine_id: str) -> list[dict[str, Any]]:
        """Every config the machine has had (``[{version, user_config}]``)."""
        found = self.api.rest(ops.VERSIONS, app=self.app, machine=machine_id)
        return [v for v in found or [] if isinstance(v, dict)]

    @contextmanager
    def lease(self, machine_id: str) -> Iterator[dict[str, str]]:
        """Hold the machine's lease; yields the header that proves it (empty if none came)."""
        try:
            answer = self.api.rest(
                ops.ACQUIRE_LEASE,
                app=self.app,
                machine=machine_id,
                body={"ttl": LEASE_TTL, "description": "shipit deploy"},
            )
        except ProviderAPIError as error:
            if error.status == 409:
                error.hint = (
                    f"machine {machine_id} is leased by another deploy (fly deploy or shipit); "
                    "wait for it to finish, then run the command again"
                )
            raise
        nonce = _nonce(answer)
        headers = {LEASE_HEADER: nonce} if nonce else {}
        try:
            yield headers
        finally:
            if nonce:  # on failure the lease expires by itself after LEASE_TTL seconds
                with contextlib.suppress(ProviderAPIError):
                    self.api.rest(
                        ops.RELEASE_LEASE, app=self.app, machine=machine_id, headers=headers
                    )

    def update(
        self,
        machine: Mapping[str, Any],
        config: Mapping[str, Any],
        *,
        launch: bool,
        min_secrets_version: int | None,
    ) -> dict[str, Any]:
        """Replace the machine's config under its lease; the machine as Fly answers."""
        machine_id = str(machine["id"])
        body: dict[str, Any] = {"config": sendable(config)}
        if machine.get("instance_id"):
            body["current_version"] = str(machine["instance_id"])
        if not launch:
            body["skip_launch"] = True
        if min_secrets_version is not None:
            body["min_secrets_version"] = min_secrets_version
        with self.lease(machine_id) as headers:
            answer = self.api.rest(
                ops.UPDATE_MACHINE, app=self.app, machine=machine_id, body=body, headers=headers
            )
        return answer if isinstance(answer, dict) else {"id": machine_id}

    def create(
        self,
        config: Mapping[str, Any],
        *,
        region: str,
        tag: str,
        min_secrets_version: int | None,
        again: bool = False,
    ) -> dict[str, Any]:
        """Create one machine; after an ambiguous failure, find it by its tag before giving up.

        ``again`` says an earlier try with this ``tag`` failed: look for its machine first.
        """
        stamped = sendable(config)
        stamped["metadata"] = {**(stamped.get("metadata") or {}), parse.META_CREATE: tag}
        body: dict[str, Any] = {"config": stamped, "region": region}
        if min_secrets_version is not None:
            body["min_secrets_version"] = min_secrets_version
        existing = self.tagged(tag) if again else None
        if existing is not None:
            return existing
        try:
            answer = self.api.rest(ops.CREATE_MACHINE, app=self.app, body=body)
        except ProviderAPIError as error:
            if error.status is None or error.status == 408 or error.status >= 500:
                found = self.tagged(tag)
                if found is not None:
                    return found
            if error.status == 503 or "capacity" in error.message.casefold():
                error.hint = (
                    f"Fly has no capacity for this machine in {region!r} now: try again later "
                    "or set another region in [environments.NAME.fly]"
                )
            raise
        if not isinstance(answer, dict) or not answer.get("id"):
            raise ProviderAPIError("fly", "the machine create answer has no machine id")
        return answer

    def tagged(self, tag: str) -> dict[str, Any] | None:
        """The machine created with ``tag``, if one was (metadata filter of the list call)."""
        try:
            found = self.api.rest(
                ops.MACHINES, app=self.app, params={f"metadata.{parse.META_CREATE}": tag}
            )
        except ProviderAPIError:
            return None
        for machine in found or []:
            if isinstance(machine, dict) and parse.metadata_of(machine).get(parse.META_CREATE) == (
                tag
            ):
                return machine
        return None

    def start(self, machine_id: str) -> None:
        """Start a stopped machine."""
        with self.lease(machine_id) as headers:
            self.api.rest(ops.START_MACHINE, app=self.app, machine=machine_id, headers=headers)

    def stop(self, machine_id: str) -> None:
        """Stop a machine (SIGTERM, as ``fly machine stop``)."""
        with self.lease(machine_id) as headers:
            self.api.rest(
                ops.STOP_MACHINE,
                app=self.app,
                machine=machine_id,
                body={"signal": "SIGTERM"},
                headers=headers,
            )

    def destroy(self, machine_id: str) -> None:
        """Destroy a machine, stopping it first."""
        self.api.rest(
            ops.DESTROY_MACHINE, app=self.app, machine=machine_id, params={"force": "true"}
        )


def _nonce(answer: Any) -> str | None:
    """The lease nonce from the wire envelope ``{"status", "data": {...}}`` or the flat Lease."""
    if not isinstance(answer, Mapping):
        return None
    inner = answer.get("data") if isinstance(answer.get("data"), Mapping) else answer
    if answer.get("status") not in {None, "success"}:
        raise ProviderAPIError(
            "fly", f"the machine lease was refused: {answer.get('message') or answer.get('status')}"
        )
    nonce = inner.get("nonce") if isinstance(inner, Mapping) else None
    return str(nonce) if nonce else None
