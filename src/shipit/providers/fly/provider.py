"""The Fly.io adapter: the Provider operations as Machines REST and GraphQL calls.

One shipit environment is one Fly app (``[environments.E.fly] app``, created in ``org`` on first
use); each service is one process group of that app (``fly_process_group`` = the service's
remote name) with ``replicas`` machines in ``region``, sized by ``vm_size``/``memory_mb``. To take
over an app that ``fly deploy`` made, name the service after flyctl's default group:
``[environments.E.services.web] name = "app"``.
How each operation maps to Fly (details and sources in the shared API notes):

- ``deploy`` (pinned images only; Fly builds nothing here): a rolling update of the group's
  machines to the image (see ``rollout.py``), advanced by ``health`` probes; new machines for
  missing replicas. Plain env vars go into each machine's config ``env``.
- ``set_env``: secrets are written to the app's vault in one call (staged: no restart), names to
  remove are deleted; the deploy that follows updates every machine once with
  ``min_secrets_version`` (see ``vault.py``). Fly cannot read secret values back.
- ``link_db``: Managed Postgres, ``DATABASE_URL`` written as a secret (see ``database.py``).
- ``health``: machine states, crash events and checks, then one GET of the health path on the
  app's public URL, ``https://<app>.fly.dev`` (``SHIPIT_FLY_APP_URL_TEMPLATE`` replaces it).
- ``settle``: healthy: machines beyond ``replicas`` are destroyed; unhealthy: every machine
  shipit changed gets its previous config back (Fly never rolls back by itself).
- ``logs``: the polling logs endpoint; runtime lines only (Fly does no build here).
- ``releases``/``redeploy``: see ``history.py``; a rollback deploys the earlier image again
  (env and secrets are not rolled back).
- ``stop``: stops the group's machines (they stay, with their config).
- ``backups``: the backup list of the app's Managed Postgres cluster (see ``backups.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final

import httpx

from shipit.config.models import FlyBlock
from shipit.config.overlay import ServiceSpec
from shipit.errors import ConfigError, DeployFailedError, ShipitError, UsageError
from shipit.http import RetryPolicy
from shipit.providers.base import (
    Artifact,
    BackupStatus,
    Capability,
    DatabaseLink,
    Deployment,
    EnvApplied,
    EnvValues,
    HealthResult,
    LogLine,
    ProviderContext,
    Release,
    ServiceState,
    ServiceStatus,
)
from shipit.providers.block import require_block
from shipit.providers.fly import logs as fly_logs
from shipit.providers.fly import parse
from shipit.providers.fly.apps import Apps
from shipit.providers.fly.backups import backup_status
from shipit.providers.fly.client import FlyClient, app_url
from shipit.providers.fly.database import PostgresLinker
from shipit.providers.fly.history import History
from shipit.providers.fly.machines import ConfigBuilder, Machines
from shipit.providers.fly.rollout import Roller, Rollout, plan
from shipit.providers.fly.vault import Vault
from shipit.providers.images import no_source_build, require_image
from shipit.providers.probe import Prober
from shipit.sensitive import Secret

DEFAULT_LOG_LINES: Final = 100
LOG_MARGIN: Final = 2.0  # seconds of log before a deployment began, for its own tail


@dataclass
class PendingEnv:
    """Plain variables ``set_env`` was given, applied by the next deploy of the group."""

    values: dict[str, str] = field(default_factory=dict)
    unset: set[str] = field(default_factory=set)


class FlyProvider:
    """Deploys the services of one shipit environment to one Fly.io app."""

    name: ClassVar[str] = "fly"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.DEPLOY_IMAGE,
            Capability.SET_ENV,
            Capability.SET_ENV_BATCH,
            Capability.READ_ENV,
            Capability.LINK_DB,
            Capability.HEALTH,
            Capability.LOGS,
            Capability.LOGS_FOLLOW,
            Capability.RELEASES,
            Capability.ROLLBACK,
            Capability.PROMOTE,
            Capability.STOP,
            Capability.BACKUPS,
        }
    )

    def __init__(
        self,
        context: ProviderContext,
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        log_pause: float = fly_logs.MAX_PAUSE,
    ) -> None:
        environment = context.environment
        block = require_block(environment, FlyBlock, "fly", 'app = "..."')
        self.context = context
        self.block = block
        self.sleep = sleep
        self.log_pause = log_pause
        self.api = FlyClient(
            context.token, verbose=context.verbose, policy=policy, transport=transport
        )
        self.apps = Apps(self.api, block, env_name=environment.name)
        self.machines = Machines(self.api, block.app)
        self.vault = Vault(self.api, block.app, context.state_dir)
        self.history = History(self.api, self.machines, block.app)
        self.roller = Roller(self.machines, self.apps.ensure_ips)
        self._lock = threading.Lock()
        self._rollouts: dict[str, Rollout] = {}
        self._pending: dict[str, PendingEnv] = {}
        self.prober = Prober("fly", verbose=context.verbose, transport=transport)

    @property
    def url(self) -> str:
        """The app's public base URL."""
        return app_url(self.block.app)

    # build and deploy ---------------------------------------------------------------------
    def planned_artifact(self, service: ServiceSpec) -> Artifact | None:
        """Unknown ahead: Fly deploys images that shipit builds or resolves."""
        return None

    def build(self, service: ServiceSpec) -> Artifact:
        """Fly builds nothing here: services deploy an image."""
        raise no_source_build("fly", service)

    def deploy(
        self, service: ServiceSpec, artifact: Artifact, *, release_name: str | None = None
    ) -> Deployment:
        """Write the first batch of a rolling update to ``artifact``; ``health`` does the rest."""
        require_image("Fly", artifact, service)
        self.apps.ensure()
        group = service.remote_name
        existing = self.machines.group(group)
        deploy_id = parse.ulid()
        record = self.history.record(
            image=artifact.ref, group=group, name=release_name, deploy_id=deploy_id
        )
        metadata = {parse.META_DEPLOY: deploy_id, parse.META_NAME: release_name or ""}
        if record is not None:
            metadata[parse.META_RELEASE_ID] = record[0]
            metadata[parse.META_RELEASE_VERSION] = str(record[1])
        with self._lock:
            pending = self._pending.pop(group, PendingEnv())
        builder = ConfigBuilder(
            service=service,
            block=self.block,
            image=artifact.ref,
            group=group,
            metadata=metadata,
            env={**service.env, **pending.values},
            unset=frozenset(pending.unset - set(service.env)),
        )
        rollout = plan(
            deploy_id=deploy_id,
            app=self.block.app,
            group=group,
            region=self.block.region,
            builder=builder,
            existing=existing,
            replicas=service.replicas,
            min_secrets_version=self.vault.version,
        )
        try:
            self.roller.write_batch(rollout)
        except ShipitError:
            if record is not None:
                self.history.finish(record[0], "failed")
            raise
        with self._lock:
            self._rollouts[deploy_id] = rollout
        extra: dict[str, Any] = {
            "app": self.block.app,
            "group": group,
            "machines": rollout.machine_ids,
            "release_id": record[0] if record else None,
            "release_version": record[1] if record else None,
        }
        if rollout.skipped:
            extra["warning"] = (
                f"machines {', '.join(rollout.skipped)} are on unreachable hosts and were "
                "left as they are"
            )
        return Deployment(
            id=deploy_id,
            service=service.name,
            artifact=artifact,
            state="deploying",
            url=self.url,
            release_name=release_name,
            created_at=datetime.now(UTC),
            extra=extra,
        )

    # health -------------------------------------------------------------------------------
    def health(self, service: ServiceSpec, deployment: Deployment) -> HealthResult:
        """The machines first (advancing the rollout), then one GET of the health path."""
        with self._lock:
            rollout = self._rollouts.get(deployment.id)
        if rollout is None:
            verdict, detail = self._machines_on(service, deployment.artifact.ref)
        else:
            verdict, detail = self.roller.probe(rollout)
        if verdict == "failed":
            return HealthResult("failed", detail, url=self.url)
        if verdict == "pending":
            return HealthResult("pending", detail, url=self.url)
        return self._probe(service, detail)

    def _machines_on(self, service: ServiceSpec, image: str) -> tuple[str, str]:
        """A deploy this adapter did not start: are the group's machines up on ``image``?"""
        machines = self.machines.group(service.remote_name)
        if not machines:
            return "pending", "no machines yet"
        for machine in machines:
            label = f"machine {machine.get('id')}"
            state = str(machine.get("state"))
            reason = parse.crash(machine)
            if state in parse.BROKEN or reason:
                return "failed", f"{label} is {state}" + (f": {reason}" if reason else "")
            if not parse.same_image(parse.image_of(machine), image):
                return "pending", f"{label} still runs {parse.image_of(machine)}"
            if state != "started":
                return "pending", f"{label}: {state}"
            verdict, detail = parse.checks(machine)
            if verdict != "passing":
                return "pending", f"{label}: {detail}"
        return "done", f"{len(machines)} machine(s) on the image"

    def _probe(self, service: ServiceSpec, machines_detail: str) -> HealthResult:
        url = self.url
        if not service.health_path:
            return HealthResult("healthy", machines_detail, url=url)
        result = self.prober.probe(url, service.health_path)
        if result.state != "healthy":
            return result
        return HealthResult(
            "healthy",
            f"{machines_detail}; {result.detail}",
            url=url,
            status_code=result.status_code,
        )

    def settle(self, service: ServiceSpec, deployment: Deployment, *, healthy: bool) -> None:
        """Healthy: retire extra machines. Unhealthy: put every changed machine back."""
        with self._lock:
            rollout = self._rollouts.pop(deployment.id, None)
        release_id = deployment.extra.get("release_id")
        if healthy:
            if rollout is not None:
                self.roller.retire(rollout)
            if release_id:
                self.history.finish(str(release_id), "complete")
            return
        problems = self.roller.undo(rollout) if rollout is not None else []
        if release_id:
            self.history.finish(str(release_id), "failed")
        if problems:
            raise DeployFailedError(
                f"the deploy of {service.name!r} failed and {len(problems)} machine(s) could "
                f"not be put back: {'; '.join(problems)}",
                hint=f"`shipit rollback {self.context.environment.name}` deploys the previous "
                "release again",
            )

    # env ----------------------------------------------------------------------------------
    def get_env(self, service: ServiceSpec) -> Mapping[str, str | Secret] | None:
        """Plain env from a machine's config; secrets by name (their digest, never a value)."""
        if self.apps.find() is None:
            return None
        machines = self.machines.group(service.remote_name)
        config = parse.config_of(machines[0]) if machines else None
        result: dict[str, str | Secret] = {
            str(k): str(v) for k, v in ((config or {}).get("env") or {}).items()
        }
        for name, digest in self.vault.digests().items():
            result[name] = Secret(f"fly-digest:{digest or 'unknown'}")
        return dict(sorted(result.items()))

    def set_env(
        self, service: ServiceSpec, values: EnvValues, unset: Sequence[str] = ()
    ) -> EnvApplied:
        """Secrets to the vault in one call (staged); plain values wait for the next deploy."""
        self.apps.ensure()
        group = service.remote_name
        secrets = {
            name: value
            for name, value in values.items()
            if name in service.secrets or isinstance(value, Secret)
        }
        plain = {n: str(v) for n, v in values.items() if n not in secrets}
        machines = self.machines.group(group)
        config = parse.config_of(machines[0]) if machines else None
        current = {str(k): str(v) for k, v in ((config or {}).get("env") or {}).items()}
        if secrets:
            self.vault.write(secrets)
        removed: list[str] = []
        dropped: set[str] = set()
        stored = self.vault.digests() if unset else {}
        for name in unset:
            if name in values or name in removed:
                continue
            if name in stored:
                self.vault.delete(name)
                removed.append(name)
            if name in current:
                dropped.add(name)
                if name not in removed:
                    removed.append(name)
        changed = sorted(n for n, v in plain.items() if current.get(n) != v)
        with self._lock:
            pending = self._pending.setdefault(group, PendingEnv())
            pending.values.update(plain)
            pending.unset |= dropped
        return EnvApplied(
            set=tuple(sorted({*secrets, *changed})),
            unset=tuple(removed),
            needs_deploy=bool(secrets or changed or removed),
        )

    def link_db(self, service: ServiceSpec) -> DatabaseLink:
        """Managed Postgres for the app; DATABASE_URL written as an app secret."""
        if service.database != "postgres":
            raise ConfigError(
                f"Fly offers no {service.database!r} database for service {service.name!r}",
                key=f"services.{service.name}.database",
                hint='use database = "postgres" for Fly environments (Managed Postgres)',
            )
        self.apps.ensure()
        return self._postgres().link()

    def backups(self, service: ServiceSpec) -> BackupStatus | None:
        """The backups of the app's Managed Postgres cluster; None when it has none yet."""
        if service.database != "postgres":
            return None
        cluster = self._postgres().find()
        if cluster is None:
            return None
        return backup_status(self.api, cluster)

    def _postgres(self) -> PostgresLinker:
        return PostgresLinker(
            self.api, self.apps, self.vault, region=self.block.region, sleep=self.sleep
        )

    # logs ---------------------------------------------------------------------------------
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
        """Runtime lines of the group's machines, oldest first; ``follow`` polls for more."""
        if build:
            return  # Fly builds nothing for shipit: images arrive built
        if self.apps.find() is None:
            raise UsageError(
                f"the Fly app {self.block.app!r} does not exist yet",
                hint=f"shipit deploy {self.context.environment.name}",
            )
        app = self.block.app
        others = {
            str(m.get("id"))
            for m in self.machines.all()
            if parse.group_of(m) != service.remote_name
        }
        if deployment is not None:
            others -= {str(m) for m in deployment.extra.get("machines") or []}

        def mine(entry: Mapping[str, Any]) -> bool:
            attributes = entry.get("attributes") or {}
            return str(attributes.get("instance")) not in others

        if since is None and deployment is not None and deployment.created_at is not None:
            since = deployment.created_at - timedelta(seconds=LOG_MARGIN)
        token = str(parse.nanoseconds(since)) if since else None
        limit = lines or DEFAULT_LOG_LINES
        entries, token = fly_logs.backlog(self.api, app, token=token)
        shown = [e for e in entries if mine(e)][-limit:]
        for entry in shown:
            yield parse.to_log_line(entry, service=service.name)
        if not follow:
            return
        for entry in fly_logs.follow(
            self.api,
            app,
            token=token,
            sleep=self.sleep,
            seen=[fly_logs.entry_key(e) for e in entries],
            max_pause=self.log_pause,
        ):
            if mine(entry):
                yield parse.to_log_line(entry, service=service.name)

    # releases, status, stop ---------------------------------------------------------------
    def releases(self, service: ServiceSpec) -> list[Release]:
        """The group's releases, newest first, recovered from Fly (see ``history.py``)."""
        if self.apps.find() is None:
            return []
        return self.history.releases(service.name, service.remote_name)

    def redeploy(self, service: ServiceSpec, release: Release) -> Deployment:
        """Deploy an earlier release's image again (a tag is pinned to its digest first)."""
        artifact = release.artifact
        if artifact.kind != "image":
            raise UsageError(f"release {release.id} of {service.name!r} has no image to deploy")
        if not artifact.digest:
            pinned = self.history.pin(artifact.ref)
            if pinned:
                artifact = parse.image_artifact(pinned)
        return self.deploy(service, artifact, release_name=release.name)

    def status(self, service: ServiceSpec) -> ServiceStatus:
        """The group's machines summed up, and (when running) one health probe."""
        if self.apps.find() is None:
            return ServiceStatus(service.name, "unknown", extra={"detail": "no Fly app"})
        machines = self.machines.group(service.remote_name)
        if not machines:
            return ServiceStatus(service.name, "unknown", extra={"detail": "no machines"})
        states = [str(m.get("state")) for m in machines]
        state = _service_state(states, any(parse.crash(m) for m in machines))
        shown = next((m for m in machines if m.get("state") == "started"), machines[0])
        image = parse.image_of(shown)
        metadata = parse.metadata_of(shown)
        healthy: bool | None = None
        if state == "running" and service.health_path:
            healthy = self._probe(service, "").state == "healthy"
        return ServiceStatus(
            service=service.name,
            state=state,
            url=self.url,
            release=image,
            release_name=metadata.get(parse.META_NAME) or None,
            healthy=healthy,
            since=parse.parse_time(shown.get("updated_at")),
            extra={
                "app": self.block.app,
                "machines": {str(m.get("id")): str(m.get("state")) for m in machines},
                "region": shown.get("region"),
            },
        )

    def stop(self, service: ServiceSpec) -> None:
        """Stop the group's running machines; their config and the app stay."""
        if self.apps.find() is None:
            return
        for machine in self.machines.group(service.remote_name):
            if str(machine.get("state")) in {"started", "starting"}:
                self.machines.stop(str(machine["id"]))

    def close(self) -> None:
        """Close the HTTP clients."""
        self.api.close()
        self.prober.close()


def _service_state(states: Sequence[str], crashing: bool) -> ServiceState:
    if any(s in parse.MOVING for s in states):
        return "deploying"
    if "started" in states and not crashing:
        return "running"
    if crashing:
        return "crashed"
    if any(s in parse.BROKEN for s in states):
        return "failed"
    if all(s in {"stopped", "suspended"} for s in states):
        return "stopped"
    return "unknown"
