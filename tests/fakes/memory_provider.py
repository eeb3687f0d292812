"""An in-memory Provider for engine, plan and CI tests: scripted health, failing logs, calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from shipit.config.loader import parse_config
from shipit.config.overlay import Environment, ServiceSpec, resolve_environment
from shipit.providers.base import (
    Artifact,
    BackupStatus,
    Capability,
    DatabaseLink,
    Deployment,
    EnvApplied,
    HealthResult,
    HealthState,
    LogLine,
    Release,
    ServiceStatus,
)
from shipit.sensitive import Secret

ALL = frozenset(Capability) - {Capability.DEPLOY_IMAGE, Capability.BACKUPS}
WITH_BACKUPS = ALL | {Capability.BACKUPS}


@dataclass
class Script:
    """How one service behaves: its health answers in order (the last one repeats)."""

    health: Sequence[HealthState] = ("healthy",)
    health_delay: float = 0.0
    logs_error: Exception | None = None
    log_lines: Sequence[str] = ("started",)
    health_error: Exception | None = None


@dataclass
class MemoryProvider:
    """Implements the Provider protocol in memory; every call is recorded in ``calls``."""

    scripts: dict[str, Script] = field(default_factory=dict)
    env: dict[str, dict[str, str | Secret]] = field(default_factory=dict)
    live: dict[str, Artifact] = field(default_factory=dict)
    planned: dict[str, Artifact | None] = field(default_factory=dict)
    build_result: dict[str, Artifact] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    settled: dict[str, bool] = field(default_factory=dict)
    active: int = 0
    peak: int = 0
    backup: BackupStatus | Exception | None = None  # what ``backups`` answers (or raises)
    name: ClassVar[str] = "memory"
    capabilities: frozenset[Capability] = ALL  # type: ignore[misc]

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._probes: dict[str, int] = {}

    def _record(self, operation: str, service: str) -> None:
        with self._lock:
            self.calls.append((operation, service))

    def script(self, service: str) -> Script:
        return self.scripts.setdefault(service, Script())

    # the protocol --------------------------------------------------------------------------
    def planned_artifact(self, service: ServiceSpec) -> Artifact | None:
        self._record("planned_artifact", service.name)
        return self.planned.get(service.name, Artifact("source", f"{service.name}-v1"))

    def build(self, service: ServiceSpec) -> Artifact:
        self._record("build", service.name)
        return self.build_result.get(service.name, Artifact("source", f"{service.name}-v1"))

    def get_env(self, service: ServiceSpec) -> Mapping[str, str | Secret] | None:
        self._record("get_env", service.name)
        values = self.env.get(service.name)
        return dict(values) if values is not None else None

    def set_env(
        self,
        service: ServiceSpec,
        values: Mapping[str, str | Secret],
        unset: Sequence[str] = (),
    ) -> EnvApplied:
        self._record("set_env", service.name)
        current = self.env.setdefault(service.name, {})
        current.update(values)
        for name in unset:
            current.pop(name, None)
        return EnvApplied(tuple(values), tuple(unset), needs_deploy=True)

    def link_db(self, service: ServiceSpec) -> DatabaseLink:
        self._record("link_db", service.name)
        self.env.setdefault(service.name, {})["DATABASE_URL"] = Secret("sqlite:///memory.db")
        return DatabaseLink("sqlite", "DATABASE_URL", created=True, written=True)

    def deploy(
        self, service: ServiceSpec, artifact: Artifact, *, release_name: str | None = None
    ) -> Deployment:
        self._record("deploy", service.name)
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        return Deployment(
            id=f"d-{service.name}",
            service=service.name,
            artifact=artifact,
            url=f"http://{service.name}.example.test",
            release_name=release_name,
        )

    def health(self, service: ServiceSpec, deployment: Deployment) -> HealthResult:
        self._record("health", service.name)
        script = self.script(service.name)
        if script.health_delay:
            time.sleep(script.health_delay)
        if script.health_error is not None:
            raise script.health_error
        with self._lock:
            count = self._probes.get(service.name, 0)
            self._probes[service.name] = count + 1
        state = script.health[min(count, len(script.health) - 1)]
        return HealthResult(state, f"probe {count + 1}: {state}", url=deployment.url)

    def settle(self, service: ServiceSpec, deployment: Deployment, *, healthy: bool) -> None:
        self._record("settle", service.name)
        with self._lock:
            self.active -= 1
            self.settled[service.name] = healthy
        if healthy:
            self.live[service.name] = deployment.artifact

    def logs(
        self,
        service: ServiceSpec,
        *,
        follow: bool = False,
        lines: int | None = None,
        since: datetime | None = None,
        build: bool = False,
        deployment: Deployment | None = None,
    ) -> Iterator[LogLine]:
        self._record("logs", service.name)
        script = self.script(service.name)
        if script.logs_error is not None:
            raise script.logs_error
        for message in script.log_lines:
            yield LogLine(datetime.now(UTC), service.name, "stdout", message)

    def releases(self, service: ServiceSpec) -> list[Release]:
        self._record("releases", service.name)
        artifact = self.live.get(service.name)
        if artifact is None:
            return []
        return [Release("r1", service.name, artifact, datetime.now(UTC), live=True)]

    def redeploy(self, service: ServiceSpec, release: Release) -> Deployment:
        return self.deploy(service, release.artifact)

    def status(self, service: ServiceSpec) -> ServiceStatus:
        return ServiceStatus(service.name, "running" if service.name in self.live else "unknown")

    def stop(self, service: ServiceSpec) -> None:
        self._record("stop", service.name)

    def backups(self, service: ServiceSpec) -> BackupStatus | None:
        """``backup`` as set; only called where ``capabilities`` has BACKUPS (WITH_BACKUPS)."""
        self._record("backups", service.name)
        if isinstance(self.backup, Exception):
            raise self.backup
        return self.backup

    def close(self) -> None:
        self._record("close", "")


CONFIG = """
[project]
name = "demo"

[services.web]
start = "python3 app.py"
env = {{ DEBUG = "false", LOG_LEVEL = "info" }}
secrets = ["SECRET_KEY"]
health_timeout = {timeout}
{extra}

[services.worker]
start = "python3 worker.py"
health_timeout = {timeout}

[environments.staging]
provider = "local"
"""


def environment(tmp: Path, *, timeout: float = 5, extra: str = "", **_: Any) -> Environment:
    """A two-service environment (web with a secret, worker) parsed from real TOML."""
    path = tmp / "shipit.toml"
    path.write_text(CONFIG.format(timeout=timeout, extra=extra))
    return resolve_environment(parse_config(path.read_text(), path), "staging")
