"""The local provider: runs release bundles as background processes on this machine.

State lives under the project's ``.shipit/``: bundles in ``bundles/`` (shared by all
environments), and per environment in ``local/<env>/``: one state file per service, the SQLite
databases, ``logs/<deployment>.log`` and the runners' ``run/<deployment>.json``.

Deploys are blue/green where ports allow: service number ``i`` owns ports ``port + 2*i`` and
``port + 2*i + 1`` of the environment's ``[local]`` block; a new release starts on the free one and
the old release is stopped only once the new one is healthy (``settle``). When the other port is
held by another program, the old release is stopped first (the Deployment carries a warning),
and restarted if the new one then fails its health gate.

Values given to ``set_env`` are kept in memory by this instance for the deploys it makes; they
reach the process environment and no file. Each deploy or redeploy must therefore follow a
``set_env`` with the secrets, as the engine does.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from shipit.config.models import LocalBlock
from shipit.errors import ConfigError, DeployFailedError, UsageError
from shipit.providers.base import (
    Artifact,
    Capability,
    DatabaseLink,
    Deployment,
    EnvApplied,
    EnvValues,
    HealthResult,
    LogLine,
    LogStream,
    ProviderContext,
    Release,
    ServiceStatus,
)
from shipit.providers.local import database, logfile
from shipit.providers.local.bundle import BuildFailedError, BundleStore, require_start
from shipit.providers.local.environ import ChildEnvironment, compose, read_back
from shipit.providers.local.health import probe
from shipit.providers.local.ports import choose_port, port_free, slot_ports, url_host, wait_free
from shipit.providers.local.process import (
    environ_of,
    is_running,
    owns_group,
    spawn,
    stop_group,
)
from shipit.providers.local.runfile import RunInfo
from shipit.providers.local.state import (
    ReleaseRecord,
    RunRecord,
    ServiceState,
    StateStore,
    artifact_from_dict,
    artifact_to_dict,
)
from shipit.sensitive import Secret, redact

if TYPE_CHECKING:
    from shipit.config.overlay import ServiceSpec

LOG_TAIL_LINES = 20


class LocalProvider:
    """Builds, runs, probes and stops a project's services on this machine."""

    name: ClassVar[str] = "local"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.BUILD,
            Capability.SET_ENV,
            Capability.SET_ENV_BATCH,
            Capability.READ_ENV,
            Capability.READ_SECRET_VALUES,
            Capability.LINK_DB,
            Capability.HEALTH,
            Capability.LOGS,
            Capability.LOGS_FOLLOW,
            Capability.BUILD_LOGS,
            Capability.RELEASES,
            Capability.ROLLBACK,
            Capability.PROMOTE,
            Capability.STOP,
        }
    )

    def __init__(self, context: ProviderContext) -> None:
        self._context = context
        self._environment = context.environment
        block = context.environment.block
        self._block = block if isinstance(block, LocalBlock) else LocalBlock()
        self._folder = context.state_dir / "local" / context.environment.name
        self._bundles = BundleStore(context.state_dir / "bundles")
        self._store = StateStore(self._folder)
        self._lock = threading.Lock()
        self._values: dict[str, dict[str, str | Secret]] = {}
        self._unset: dict[str, set[str]] = {}

    # -- build -------------------------------------------------------------------------------

    def build(self, service: ServiceSpec) -> Artifact:
        """The service's release bundle, built once and reused while the source is unchanged."""
        try:
            artifact = self._bundles.build(service, root=self._environment.root)
        except BuildFailedError as error:
            self._remember_build(service, error.ref)
            raise
        self._remember_build(service, artifact.ref)
        return artifact

    def planned_artifact(self, service: ServiceSpec) -> Artifact | None:
        """The bundle a build would give now (a content hash of the source), without building."""
        return self._bundles.planned(service, root=self._environment.root)

    def _remember_build(self, service: ServiceSpec, ref: str) -> None:
        """Note the last bundle built for the service, for ``logs --build``."""
        state = self._store.load(service.name)
        state.last_build = ref
        self._store.save(state)

    # -- environment -------------------------------------------------------------------------

    def set_env(
        self, service: ServiceSpec, values: EnvValues, unset: Sequence[str] = ()
    ) -> EnvApplied:
        """Remember variables for this instance's next deploy; nothing is written to disk."""
        for name in [*values, *unset]:
            if not name or "=" in name or "\0" in name:
                raise UsageError(f"{name!r} is not a valid environment variable name")
        with self._lock:
            kept = self._values.setdefault(service.name, {})
            removed = self._unset.setdefault(service.name, set())
            for name, value in values.items():
                kept[name] = value
                removed.discard(name)
            for name in unset:
                kept.pop(name, None)
                removed.add(name)
        return EnvApplied(set=tuple(sorted(values)), unset=tuple(sorted(unset)), needs_deploy=True)

    def get_env(self, service: ServiceSpec) -> Mapping[str, str | Secret] | None:
        """The variables shipit gave the running process, read from it; None if none runs."""
        record = self._store.load(service.name).current
        if record is None or record.stopped_at or not self._running(record):
            return None
        environ = environ_of(record.pid)
        if environ is None:
            return None
        return read_back(environ, record.env_names, record.secret_names)

    def _configured(self, service: ServiceSpec) -> tuple[dict[str, str | Secret], set[str]]:
        with self._lock:
            values = dict(self._values.get(service.name, {}))
            unset = set(self._unset.get(service.name, set()))
        return values, unset

    def _database_given(self, service: ServiceSpec) -> bool:
        values, unset = self._configured(service)
        merged = {**service.env, **values}
        return database.VARIABLE in merged and database.VARIABLE not in unset

    def link_db(self, service: ServiceSpec) -> DatabaseLink:
        """Create the service's SQLite file (also standing in for Postgres) for DATABASE_URL."""
        return database.link(self._folder, service, given=self._database_given(service))

    def _child_environment(
        self, service: ServiceSpec, artifact: Artifact, port: int
    ) -> ChildEnvironment:
        values, unset = self._configured(service)
        database_url = None
        if service.database is not None and not self._database_given(service):
            database_url = self.link_db(service).extra["url"]
        return compose(
            service_env=service.env,
            values=values,
            unset=unset,
            secret_names=service.secrets,
            database_url=database_url,
            runtime={
                "PORT": str(port),
                "HOST": self._block.host,
                "SHIPIT_RELEASE": artifact.ref,
                "SHIPIT_ENVIRONMENT": self._environment.name,
                "SHIPIT_SERVICE": service.name,
            },
        )

    # -- deploy ------------------------------------------------------------------------------

    def deploy(
        self, service: ServiceSpec, artifact: Artifact, *, release_name: str | None = None
    ) -> Deployment:
        """Start the bundle's start command on the port the live release does not use."""
        command = require_start(service)
        self._bundles.require(artifact)
        state = self._store.load(service.name)
        self._retire_pending(state)
        port, replaced, warning = self._choose_port(service, state)
        try:
            record = self._launch(service, artifact, release_name, port, command)
        except DeployFailedError:
            if replaced is not None:
                self._restore(service, state, replaced)
            self._store.save(state)
            raise
        record.replaced = replaced
        state.pending = record
        state.releases.append(
            ReleaseRecord(
                id=artifact.ref,
                deployment=record.deployment,
                artifact=artifact_to_dict(artifact),
                created_at=record.started_at,
                name=release_name,
                live=False,
                state="deploying",
                config_fingerprint=service.fingerprint(),
                port=port,
                log=record.log,
            )
        )
        self._store.save(state)
        extra: dict[str, object] = {"pid": record.pid, "port": port, "log": record.log}
        if warning:
            extra["warning"] = warning
        return Deployment(
            id=record.deployment,
            service=service.name,
            artifact=artifact,
            state="deploying",
            url=self._url(port),
            release_name=release_name,
            created_at=record.started,
            extra=extra,
        )

    def redeploy(self, service: ServiceSpec, release: Release) -> Deployment:
        """Run an earlier release's bundle again (rollback); never rebuilds."""
        if release.artifact.kind == "bundle" and not self._bundles.complete(release.artifact.ref):
            label = f"{release.id} ({release.name})" if release.name else release.id
            raise DeployFailedError(
                f"release {label} of service {service.name!r} cannot be redeployed: "
                f"its bundle is no longer in {self._bundles.folder}",
                hint="deploy a fresh build with `shipit deploy ENV` instead",
            )
        return self.deploy(service, release.artifact, release_name=release.name)

    def _url(self, port: int) -> str:
        return f"http://{url_host(self._block.host)}:{port}"

    def _running(self, record: RunRecord) -> bool:
        return is_running(record.pid, record.deployment)

    def _stop(self, record: RunRecord) -> None:
        """Stop a release's process group, if that group is still the one this record started."""
        identity = {
            "SHIPIT_RELEASE": record.release,
            "SHIPIT_ENVIRONMENT": self._environment.name,
            "PORT": str(record.port),
        }
        if owns_group(record.pid, record.deployment, identity):
            stop_group(record.pid)

    def _launch(
        self,
        service: ServiceSpec,
        artifact: Artifact,
        release_name: str | None,
        port: int,
        command: str,
        *,
        deployment: str | None = None,
    ) -> RunRecord:
        """Start a runner for ``artifact`` on ``port``; a new deployment id unless given."""
        started = logfile.now()
        if deployment is None:
            deployment = f"{service.name}-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        log = self._folder / "logs" / f"{deployment}.log"
        run_file = self._folder / "run" / f"{deployment}.json"
        log.parent.mkdir(parents=True, exist_ok=True)
        run_file.parent.mkdir(parents=True, exist_ok=True)
        environment = self._child_environment(service, artifact, port)
        pid = spawn(
            command=command,
            cwd=self._bundles.path(artifact.ref),
            env=environment.values,
            log=log,
            run_file=run_file,
            deployment=deployment,
        )
        return RunRecord(
            deployment=deployment,
            release=artifact.ref,
            release_name=release_name,
            pid=pid,
            port=port,
            host=self._block.host,
            log=str(log),
            run_file=str(run_file),
            started_at=started.isoformat(),
            env_names=list(environment.names),
            secret_names=list(environment.secret_names),
        )

    def _service_index(self, service: ServiceSpec) -> int:
        names = list(self._environment.services)
        if service.name not in names:
            raise ConfigError(
                f"service {service.name!r} is not in environment {self._environment.name!r}"
            )
        return names.index(service.name)

    def _choose_port(
        self, service: ServiceSpec, state: ServiceState
    ) -> tuple[int, str | None, str | None]:
        """The port for a new release, the deployment stopped to free it, and a warning."""
        host = self._block.host
        slots = slot_ports(self._block.port, self._service_index(service))
        live = state.current
        if live is not None and (live.stopped_at or not self._running(live)):
            live = None
        choice = choose_port(slots, live.port if live else None, lambda p: port_free(host, p))
        if choice.port is not None and not choice.stop_live_first:
            return choice.port, None, None
        if live is not None and choice.stop_live_first:
            self._stop(live)
            live.stopped_at = logfile.now().isoformat()
            if wait_free(host, live.port):
                other = next(port for port in slots if port != live.port)
                warning = (
                    f"port {other} is in use by another program, so the running release "
                    f"{live.release} was stopped before the new one started on port {live.port}: "
                    f"service {service.name!r} is down until the new release is healthy"
                )
                return live.port, live.deployment, warning
        first, second = slots
        raise DeployFailedError(
            f"no free port for service {service.name!r}: ports {first} and {second} on {host} "
            "are in use by other programs",
            hint="stop what listens there, or choose another base port with "
            f"`port = N` in [environments.{self._environment.name}.local]",
        )

    def _retire_pending(self, state: ServiceState) -> None:
        """Stop a deploy that was never settled (an interrupted run) and mark it cancelled."""
        pending = state.pending
        if pending is None:
            return
        self._stop(pending)
        entry = state.release_of(pending.deployment)
        if entry is not None and entry.state == "deploying":
            entry.state = "cancelled"
            entry.detail = "replaced by a newer deploy before its health gate finished"
        state.pending = None

    # -- health and settle -------------------------------------------------------------------

    def _record(self, state: ServiceState, deployment: Deployment) -> RunRecord | None:
        for record in (state.pending, state.current):
            if record is not None and record.deployment == deployment.id:
                return record
        return None

    def _exit_detail(self, record: RunRecord) -> tuple[str, int | None]:
        info = RunInfo.read(Path(record.run_file))
        if info is not None and info.exit_code is not None:
            code = info.exit_code
            if code < 0:
                return f"the process was killed by signal {-code}", code
            return f"the process exited with code {code}", code
        return "the process is gone (no exit code recorded)", None

    def _log_tail(self, path: Path) -> list[str]:
        entries = logfile.read(path, lines=LOG_TAIL_LINES)
        return [redact(f"{entry.stream}: {entry.message}") for entry in entries]

    def health(self, service: ServiceSpec, deployment: Deployment) -> HealthResult:
        """One probe: failed if the process exited, else its health path (or its port)."""
        record = self._record(self._store.load(service.name), deployment)
        if record is None:
            return HealthResult("failed", f"deployment {deployment.id} is not running here")
        if not self._running(record):
            detail, code = self._exit_detail(record)
            return HealthResult(
                "failed",
                detail,
                url=self._url(record.port),
                extra={"exit_code": code, "log_tail": self._log_tail(Path(record.log))},
            )
        return probe(record.host, record.port, service.health_path)

    def settle(self, service: ServiceSpec, deployment: Deployment, *, healthy: bool) -> None:
        """Healthy: stop the old release, the new one is live. Else stop the new one."""
        state = self._store.load(service.name)
        record = state.pending
        if record is None or record.deployment != deployment.id:
            return
        entry = state.release_of(record.deployment)
        state.pending = None
        if healthy:
            old = state.current
            if old is not None and old.deployment != record.deployment:
                self._stop(old)
                old.stopped_at = old.stopped_at or logfile.now().isoformat()
            for other in state.releases:
                if other.live:
                    other.live = False
                    other.state = "stopped"
            if entry is not None:
                entry.live = True
                entry.state = "live"
            state.current = record
        else:
            self._stop(record)
            if entry is not None:
                entry.state = "failed"
                entry.detail = "did not pass its health gate; the previous release kept serving"
            if record.replaced is not None:
                self._restore(service, state, record.replaced)
        self._store.save(state)

    def _restore(self, service: ServiceSpec, state: ServiceState, deployment: str) -> None:
        """Start again the release that was stopped early to free its port for a failed deploy."""
        old = state.current
        if old is None or old.deployment != deployment or self._running(old):
            return
        entry = state.release_of(deployment)
        artifact = artifact_from_dict(entry.artifact) if entry else Artifact("bundle", old.release)
        if not self._bundles.complete(artifact.ref) or not wait_free(old.host, old.port):
            return
        restarted = self._launch(
            service,
            artifact,
            old.release_name,
            old.port,
            require_start(service),
            deployment=old.deployment,
        )
        state.current = restarted

    # -- observe -----------------------------------------------------------------------------

    def releases(self, service: ServiceSpec) -> list[Release]:
        """Every deploy of the service here, newest first."""
        state = self._store.load(service.name)
        return [record.to_release(service.name) for record in reversed(state.releases)]

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
        """Runtime lines of the live (else latest) release, or a bundle's build output.

        With ``follow`` this keeps tailing, moving on to a newer live release's log, until the
        caller stops iterating or KeyboardInterrupt arrives (which propagates).
        """
        state = self._store.load(service.name)
        releases: dict[Path, str] = {}
        switch = None
        if build:
            ref = deployment.artifact.ref if deployment else state.build_ref()
            if ref is None:
                return
            path = self._bundles.build_log(ref)
            releases[path] = ref
        else:
            chosen = state.runtime_log(deployment.id if deployment else None)
            if chosen is None:
                return
            path, releases[path] = chosen
            if deployment is None:

                def switch() -> Path | None:
                    moved = self._store.load(service.name).runtime_log()
                    if moved is None:
                        return None
                    releases[moved[0]] = moved[1]
                    return moved[0]

        for source, entry in logfile.tail(
            path, lines=lines, since=since, follow=follow, switch=switch
        ):
            yield LogLine(
                timestamp=entry.timestamp,
                service=service.name,
                stream=cast(LogStream, entry.stream),
                message=redact(entry.message),
                release=releases.get(source),
            )

    def status(self, service: ServiceSpec) -> ServiceStatus:
        """Running, stopped or crashed, with one quick health probe when running."""
        state = self._store.load(service.name)
        record = state.current
        pending = state.pending
        if record is None:
            if pending is not None and self._running(pending):
                return ServiceStatus(
                    service.name,
                    "deploying",
                    url=self._url(pending.port),
                    release=pending.release,
                    release_name=pending.release_name,
                    since=pending.started,
                )
            return ServiceStatus(service.name, "stopped")
        common = {"port": record.port, "log": record.log, "deployment": record.deployment}
        url = self._url(record.port)
        if record.stopped_at:
            return ServiceStatus(
                service.name,
                "stopped",
                url=None,
                release=record.release,
                release_name=record.release_name,
                since=datetime.fromisoformat(record.stopped_at),
                extra=common,
            )
        if not self._running(record):
            detail, code = self._exit_detail(record)
            info = RunInfo.read(Path(record.run_file))
            ended = info.finished_at if info is not None else None
            return ServiceStatus(
                service.name,
                "crashed",
                url=url,
                release=record.release,
                release_name=record.release_name,
                healthy=False,
                since=datetime.fromisoformat(ended) if ended else None,
                extra={**common, "exit_code": code, "detail": detail},
            )
        result = probe(record.host, record.port, service.health_path)
        uptime = (logfile.now() - record.started).total_seconds()
        return ServiceStatus(
            service.name,
            "running",
            url=url,
            release=record.release,
            release_name=record.release_name,
            healthy=result.state == "healthy",
            since=record.started,
            extra={**common, "pid": record.pid, "uptime_seconds": round(uptime, 1)},
        )

    # -- stop --------------------------------------------------------------------------------

    def stop(self, service: ServiceSpec) -> None:
        """Stop the service's processes (``shipit down``); its releases stay for a redeploy."""
        state = self._store.load(service.name)
        if state.pending is None and state.current is None:
            return
        self._retire_pending(state)
        record = state.current
        if record is not None:
            self._stop(record)
            if record.stopped_at is None:
                record.stopped_at = logfile.now().isoformat()
            entry = state.release_of(record.deployment)
            if entry is not None and entry.live:
                entry.live = False
                entry.state = "stopped"
        self._store.save(state)

    def close(self) -> None:
        """Nothing to release: processes outlive the adapter on purpose."""
