"""The Render adapter: the Provider operations as calls to Render's public REST API.

How each operation maps to Render (details and sources in the shared API notes, API.md):

- services are image-backed web services called ``<name_prefix><remote_name>`` in the workspace
  ``owner``; a missing one is created by ``deploy`` (``POST /services`` with the pinned image,
  ``autoDeploy: no`` and the variables inline). Creating starts Render's first deploy, which is
  the deploy: exactly one either way.
- ``deploy`` of an existing service: ``POST /services/{id}/deploys {"imageUrl": repo@digest}``,
  never retried. Render only accepts an image from the repository the service is configured
  with, so a service pointed at another repository is updated (``PATCH``) first, as is a changed
  health path or start command. A 202 (queued, empty body) is followed to the queued deploy.
  Digests in ``imageUrl`` are not in Render's recordings: if Render refuses the pinned URL (400,
  nothing started) shipit sets the service's image to it and deploys that instead.
- ``set_env``: one ``PUT /services/{id}/env-vars/{key}`` per changed value and one ``DELETE``
  per name to remove; names not mentioned are never touched (the replace-all PUT is not used).
  Render documents no redeploy on variable writes; the engine then deploys once. Before the
  service exists the values are kept and sent with the create call.
- ``link_db``: see ``database.py``; ``DATABASE_URL`` is written from the internal connection
  string (Render injects nothing without a Blueprint).
- ``health``: the deploy's status (terminal states from the spec's ``deployStatus``), then one
  GET of the service's health path on its public URL (``probe.py``).
  ``SHIPIT_RENDER_SERVICE_URL_TEMPLATE`` replaces that URL (tests, proxies): a template with
  ``{name}``, ``{slug}`` and ``{id}``, e.g. ``http://127.0.0.1:8080/apps/{slug}``.
- ``settle``: Render moves traffic only after a new deploy passes its own health check, so a
  failed deploy never served and the previous one keeps serving. A deploy still in progress is
  cancelled so it cannot go live later; one that went live but failed shipit's gate is rolled
  back to the deploy that was live before.
- ``releases``: the service's deploys, newest first; each artifact is ``repository@image.sha``
  from Render's own record and names come from ``SHIPIT_RELEASES`` (see ``parse.py``).
- ``redeploy``: ``POST /services/{id}/rollback {"deployId"}`` for an earlier deploy (falling
  back to a deploy of its image when Render refuses); the live release is deployed again by image.
- ``stop``: suspends the service; the next deploy resumes it first.
- ``backups``: the point-in-time recovery status of the environment's Postgres (the one
  ``link_db`` finds or creates; see ``backups.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final

import httpx

from shipit.config.models import RenderBlock
from shipit.config.overlay import ServiceSpec
from shipit.errors import ConfigError, ProviderAPIError, UsageError
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
from shipit.providers.bookkeeping import artifact_key, json_map, with_entry
from shipit.providers.images import no_source_build, require_image
from shipit.providers.probe import Prober
from shipit.providers.render import logs as render_logs
from shipit.providers.render import operations as ops
from shipit.providers.render import parse
from shipit.providers.render.backups import backup_status
from shipit.providers.render.client import RenderClient
from shipit.providers.render.database import PostgresLinker
from shipit.providers.render.probe import probe, service_url
from shipit.providers.render.resolve import Resolver
from shipit.providers.timestamps import parse_time
from shipit.sensitive import Secret, reveal

DATABASE_VARIABLE: Final = "DATABASE_URL"
DEPLOYS_PAGE: Final = 50
QUEUED_POLLS: Final = 10
QUEUED_PAUSE: Final = 1.0
LOG_SKEW: Final = timedelta(seconds=30)
REFUSED: Final = frozenset({400, 404, 409, 410})


class RenderProvider:
    """Deploys the services of one shipit environment to one Render workspace."""

    name: ClassVar[str] = "render"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.DEPLOY_IMAGE,
            Capability.SET_ENV,
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
        poll_interval: float = render_logs.FOLLOW_INTERVAL,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        environment = context.environment
        block = require_block(environment, RenderBlock, "render", 'owner = "tea-..."')
        self.context = context
        self.block = block
        self.sleep = sleep
        self.poll_interval = poll_interval
        self.now = now
        self.api = RenderClient(
            context.token, verbose=context.verbose, policy=policy, transport=transport
        )
        self.resolver = Resolver(
            self.api, env_name=environment.name, owner=block.owner, name_prefix=block.name_prefix
        )
        self.prober = Prober("render", verbose=context.verbose, transport=transport)
        self._lock = threading.Lock()
        self._pending: dict[str, dict[str, str]] = {}  # values for services not created yet

    # build and deploy ---------------------------------------------------------------------
    def planned_artifact(self, service: ServiceSpec) -> Artifact | None:
        """Unknown ahead: Render runs images that shipit builds or resolves."""
        return None

    def build(self, service: ServiceSpec) -> Artifact:
        """Render services deploy images; shipit builds those itself (``[services.X.build]``)."""
        raise no_source_build("render", service)

    def deploy(
        self, service: ServiceSpec, artifact: Artifact, *, release_name: str | None = None
    ) -> Deployment:
        """Start one deploy of the pinned image; returns at once (``health`` follows it)."""
        require_image("Render", artifact, service)
        existing = self.resolver.find(service.remote_name)
        if existing is None:
            return self._create(service, artifact, release_name)
        return self._deploy_image(service, existing, artifact, release_name)

    def _create(
        self, service: ServiceSpec, artifact: Artifact, release_name: str | None
    ) -> Deployment:
        """Create the service with the image and its variables: Render deploys it once."""
        owner_id = self.resolver.owner_id()
        with self._lock:
            values = dict(self._pending.get(service.remote_name, {}))
        if release_name:
            values[parse.RELEASES_VARIABLE] = with_entry({}, artifact_key(artifact), release_name)
        body: dict[str, Any] = {
            "type": "web_service",
            "name": self.resolver.service_name(service.remote_name),
            "ownerId": owner_id,
            "autoDeploy": "no",
            "image": {"ownerId": owner_id, "imagePath": artifact.ref},
            "serviceDetails": {
                **self._details(service),
                "plan": self.block.plan,
                "region": self.block.region,
                "numInstances": service.replicas,
            },
        }
        if values:
            body["envVars"] = [{"key": k, "value": v} for k, v in sorted(values.items())]
        try:
            answer = self.api.call(ops.CREATE_SERVICE, body=body)
        except ProviderAPIError as error:
            if error.status is None:
                error.hint = (
                    "no answer came back, so the service may have been created: check the "
                    "Render Dashboard before deploying again"
                )
            raise
        created = (answer or {}).get("service")
        if not isinstance(created, dict) or not created.get("id"):
            raise ProviderAPIError("render", "the service create answer has no service")
        with self._lock:
            self._pending.pop(service.remote_name, None)
        self.resolver.remember(created)
        service_id = str(created["id"])
        deploy_id = (answer or {}).get("deployId")
        deploy: dict[str, Any] = {"id": deploy_id, "status": "created"} if deploy_id else {}
        if not deploy:
            deploy = self._queued(service_id, artifact)
        return self._deployment(service, created, deploy, artifact, release_name, previous=None)

    def _deploy_image(
        self,
        service: ServiceSpec,
        existing: dict[str, Any],
        artifact: Artifact,
        release_name: str | None,
    ) -> Deployment:
        service_id = str(existing["id"])
        warning = self._resume(existing)
        if release_name:
            self._name_release(service_id, artifact, release_name)
        current = self._update_settings(service, existing, artifact)
        live = self._live_deploy(service_id)
        deploy = self._start_deploy(current, artifact)
        return self._deployment(
            service,
            current,
            deploy,
            artifact,
            release_name,
            previous=str(live["id"]) if live else None,
            warning=warning,
        )

    def _details(self, service: ServiceSpec) -> dict[str, Any]:
        """Web service settings from config: runtime, health path, start command."""
        details: dict[str, Any] = {
            "runtime": "image",
            "healthCheckPath": service.health_path or "",
        }
        if service.start:
            details["envSpecificDetails"] = {"dockerCommand": service.start}
        return details

    def _update_settings(
        self, service: ServiceSpec, existing: dict[str, Any], artifact: Artifact
    ) -> dict[str, Any]:
        """PATCH what differs from config: the image repository, health path, start command."""
        patch: dict[str, Any] = {}
        stored = existing.get("imagePath")
        if not isinstance(stored, str) or parse.repository(stored) != parse.repository(
            artifact.ref
        ):
            patch["image"] = {"ownerId": self.resolver.owner_id(), "imagePath": artifact.ref}
        details = existing.get("serviceDetails") or {}
        wanted: dict[str, Any] = {}
        if (details.get("healthCheckPath") or "") != (service.health_path or ""):
            wanted["healthCheckPath"] = service.health_path or ""
        command = (details.get("envSpecificDetails") or {}).get("dockerCommand") or ""
        if service.start and command != service.start:
            wanted["envSpecificDetails"] = {"dockerCommand": service.start}
        if wanted:
            patch["serviceDetails"] = wanted
        if not patch:
            return existing
        updated = self.api.call(
            ops.UPDATE_SERVICE, path={"serviceId": str(existing["id"])}, body=patch
        )
        if isinstance(updated, dict) and updated.get("id"):
            self.resolver.remember(updated)
            return updated
        return existing

    def _start_deploy(self, current: dict[str, Any], artifact: Artifact) -> dict[str, Any]:
        """``POST …/deploys {"imageUrl"}`` once; a refused URL falls back to the stored image."""
        service_id = str(current["id"])
        try:
            response = self.api.send(
                ops.CREATE_DEPLOY, path={"serviceId": service_id}, body={"imageUrl": artifact.ref}
            )
        except ProviderAPIError as error:
            if error.status == 400:
                return self._deploy_stored_image(current, artifact, error)
            raise self._unsure(error) from None
        return self._started(service_id, response, artifact)

    def _deploy_stored_image(
        self, current: dict[str, Any], artifact: Artifact, refused: ProviderAPIError
    ) -> dict[str, Any]:
        """Point the service's image at the pinned reference, then ``POST …/deploys {}``."""
        service_id = str(current["id"])
        owner_id = self.resolver.owner_id()
        previous = current.get("imagePath")
        if previous == artifact.ref:
            raise refused
        self.api.call(
            ops.UPDATE_SERVICE,
            path={"serviceId": service_id},
            body={"image": {"ownerId": owner_id, "imagePath": artifact.ref}},
        )
        try:
            response = self.api.send(ops.CREATE_DEPLOY, path={"serviceId": service_id}, body={})
        except ProviderAPIError as error:
            if error.status is not None and isinstance(previous, str) and previous:
                self.api.call(  # nothing started: point the service back at what it ran
                    ops.UPDATE_SERVICE,
                    path={"serviceId": service_id},
                    body={"image": {"ownerId": owner_id, "imagePath": previous}},
                )
            raise self._unsure(error) from None
        return self._started(service_id, response, artifact)

    def _unsure(self, error: ProviderAPIError) -> ProviderAPIError:
        if error.status is None:
            error.hint = (
                "no answer came back, so the deploy may have started: check "
                f"`shipit releases {self.context.environment.name}` before deploying again"
            )
        return error

    def _started(
        self, service_id: str, response: httpx.Response, artifact: Artifact
    ) -> dict[str, Any]:
        """The deploy a create-deploy answer names; a 202 (queued, no body) is looked up."""
        body: Any = None
        if response.status_code != 202 and response.content.strip():
            try:
                body = response.json()
            except ValueError:
                body = None
        if isinstance(body, dict) and body.get("id"):
            return body
        return self._queued(service_id, artifact)

    def _queued(self, service_id: str, artifact: Artifact) -> dict[str, Any]:
        """The newest unfinished deploy of ``artifact`` (Render answered 202 without a body)."""
        for attempt in range(QUEUED_POLLS):
            for deploy in parse.newest_first(self._deploys(service_id, 10)):
                status = str(deploy.get("status") or "")
                if status in parse.IN_PROGRESS and parse.same_image(deploy, artifact) is not False:
                    return deploy
            if attempt + 1 < QUEUED_POLLS:
                self.sleep(QUEUED_PAUSE)
        raise ProviderAPIError(
            "render",
            "Render queued the deploy but it does not appear in the service's deploy list",
            hint=f"check `shipit releases {self.context.environment.name}` in a moment",
        )

    def _resume(self, existing: dict[str, Any]) -> str | None:
        """Resume a suspended service (``shipit down``) so that a deploy can run."""
        if existing.get("suspended") != "suspended":
            return None
        self.api.send(ops.RESUME_SERVICE, path={"serviceId": str(existing["id"])})
        existing["suspended"] = "not_suspended"
        return "the service was suspended; it was resumed"

    def _deployment(
        self,
        service: ServiceSpec,
        render_service: Mapping[str, Any],
        deploy: Mapping[str, Any],
        artifact: Artifact,
        release_name: str | None,
        *,
        previous: str | None,
        warning: str | None = None,
    ) -> Deployment:
        status = str(deploy.get("status") or "created")
        extra: dict[str, Any] = {
            "service_id": str(render_service["id"]),
            "previous_deploy": previous,
            "render_status": status,
        }
        if warning:
            extra["warning"] = warning
        return Deployment(
            id=str(deploy["id"]),
            service=service.name,
            artifact=artifact,
            state=parse.deploy_state(status),
            url=service_url(render_service),
            release_name=release_name,
            created_at=parse_time(deploy.get("createdAt")) or self.now(),
            extra=extra,
        )

    def _name_release(self, service_id: str, artifact: Artifact, release_name: str) -> None:
        """Record ``release_name`` for the artifact in SHIPIT_RELEASES (one key, no deploy)."""
        index = json_map(self._variables(service_id), parse.RELEASES_VARIABLE)
        key = artifact_key(artifact)
        if index.get(key) == release_name:
            return
        self._put_variable(
            service_id, parse.RELEASES_VARIABLE, with_entry(index, key, release_name)
        )

    # health -------------------------------------------------------------------------------
    def health(self, service: ServiceSpec, deployment: Deployment) -> HealthResult:
        """The deploy's Render status, then one GET of the health path on the service URL."""
        service_id = self._service_id_of(service, deployment)
        deploy = self._deploy(service_id, deployment.id)
        status = str(deploy.get("status") or "")
        extra = {"status": status}
        url = deployment.url
        if status in parse.IN_PROGRESS or not status:
            return HealthResult("pending", f"Render: {status or 'unknown'}", url=url, extra=extra)
        if status in parse.FAILED or status in parse.CANCELED:
            return HealthResult("failed", f"Render deploy {status}", url=url, extra=extra)
        if status in parse.SUPERSEDED:
            live = self._live_deploy(service_id)
            if live is None or parse.same_image(live, deployment.artifact) is False:
                replaced = f" by {live['id']}" if live else ""
                return HealthResult(
                    "failed",
                    f"Render replaced deploy {deployment.id}{replaced} before it was checked",
                    url=url,
                    extra=extra,
                )
        elif parse.same_image(deploy, deployment.artifact) is False:
            ran = parse.deploy_artifact(deploy)
            return HealthResult(
                "failed",
                f"Render deployed {ran.ref}, not {deployment.artifact.ref}",
                url=url,
                extra=extra,
            )
        return probe(self.prober, url, service.health_path, status)

    def settle(self, service: ServiceSpec, deployment: Deployment, *, healthy: bool) -> None:
        """Nothing when healthy; else cancel a deploy in progress or roll a live one back."""
        if healthy:
            return
        try:
            service_id = self._service_id_of(service, deployment)
            status = str(self._deploy(service_id, deployment.id).get("status") or "")
            if status in parse.CANCELLABLE:
                self.api.call(
                    ops.CANCEL_DEPLOY, path={"serviceId": service_id, "deployId": deployment.id}
                )
            elif status in parse.LIVE:
                previous = deployment.extra.get("previous_deploy")
                if isinstance(previous, str) and previous and previous != deployment.id:
                    self.api.call(
                        ops.ROLLBACK_DEPLOY,
                        path={"serviceId": service_id},
                        body={"deployId": previous},
                    )
        except ProviderAPIError:
            pass  # the deploy already failed; Render keeps the previous deploy serving

    # env ----------------------------------------------------------------------------------
    def get_env(self, service: ServiceSpec) -> Mapping[str, str | Secret] | None:
        """The service's own variables (not env groups'); secrets and DATABASE_URL wrapped."""
        service_id = self.resolver.service_id(service.remote_name)
        if service_id is None:
            return None
        hidden = {*service.secrets, DATABASE_VARIABLE}
        result: dict[str, str | Secret] = {}
        for name, value in sorted(self._variables(service_id).items()):
            if name in parse.BOOKKEEPING:
                continue
            result[name] = Secret(value) if name in hidden else value
        return result

    def set_env(
        self, service: ServiceSpec, values: EnvValues, unset: Sequence[str] = ()
    ) -> EnvApplied:
        """Write each changed value (one key per call); delete only the names in ``unset``."""
        service_id = self.resolver.service_id(service.remote_name)
        wanted = {name: reveal(value) for name, value in values.items()}
        if service_id is None:
            with self._lock:  # sent with the create call of the first deploy
                pending = self._pending.setdefault(service.remote_name, {})
                pending.update(wanted)
                for name in unset:
                    if name not in wanted:
                        pending.pop(name, None)
            return EnvApplied(set=tuple(sorted(wanted)), unset=(), needs_deploy=True)
        current = self._variables(service_id)
        changed = sorted(name for name, value in wanted.items() if current.get(name) != value)
        for name in changed:
            self._put_variable(service_id, name, wanted[name])
        removed: list[str] = []
        for name in unset:
            if name in wanted or name in parse.BOOKKEEPING or name not in current:
                continue
            try:
                self.api.send(ops.DELETE_ENV_VAR, path={"serviceId": service_id, "envVarKey": name})
            except ProviderAPIError as error:
                if error.status != 404:
                    raise
            removed.append(name)
        return EnvApplied(
            set=tuple(changed), unset=tuple(removed), needs_deploy=bool(changed or removed)
        )

    def _variables(self, service_id: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for variable in self.api.pages(ops.LIST_ENV_VARS, "envVar", path={"serviceId": service_id}):
            if isinstance(variable.get("key"), str):
                found[str(variable["key"])] = str(variable.get("value") or "")
        return found

    def _put_variable(self, service_id: str, name: str, value: str) -> None:
        self.api.call(
            ops.UPDATE_ENV_VAR,
            path={"serviceId": service_id, "envVarKey": name},
            body={"value": value},
        )

    def link_db(self, service: ServiceSpec) -> DatabaseLink:
        """Reuse or create the environment's Render Postgres; write DATABASE_URL explicitly."""
        if service.database != "postgres":
            raise ConfigError(
                f"Render offers no {service.database!r} database for service {service.name!r}",
                key=f"services.{service.name}.database",
                hint='use database = "postgres" for Render environments',
            )
        database = self._postgres().ensure(self._database_name())
        url = database.url.reveal()
        service_id = self.resolver.service_id(service.remote_name)
        if service_id is None:
            with self._lock:
                self._pending.setdefault(service.remote_name, {})[DATABASE_VARIABLE] = url
            written = True
        else:
            current = self._variables(service_id).get(DATABASE_VARIABLE)
            written = current != url
            if written:
                self._put_variable(service_id, DATABASE_VARIABLE, url)
        verb = "created" if database.created else "reused"
        return DatabaseLink(
            kind="postgres",
            variable=DATABASE_VARIABLE,
            created=database.created,
            written=written,
            description=f"Render Postgres {database.name!r} {verb}; DATABASE_URL set "
            "to its internal connection string",
            extra={"postgres_id": database.id},
        )

    def backups(self, service: ServiceSpec) -> BackupStatus | None:
        """The recovery status of the environment's Postgres; None before it exists."""
        if service.database != "postgres":
            return None
        database = self._postgres().find(self._database_name())
        if database is None:
            return None
        return backup_status(self.api, database)

    def _postgres(self) -> PostgresLinker:
        return PostgresLinker(
            self.api, owner_id=self.resolver.owner_id(), region=self.block.region, sleep=self.sleep
        )

    def _database_name(self) -> str:
        """``<name_prefix><project>-db``: the environment's one database."""
        return f"{self.block.name_prefix or ''}{self.context.environment.project}-db"

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
        """Build or app lines of the service, oldest first; with ``follow``, polled.

        For a given deployment (the tail of a failed deploy) the window is that deploy's and
        both build and app lines are read unless ``build`` asks for build lines only.
        """
        service_id = (
            str(deployment.extra.get("service_id") or "") if deployment is not None else ""
        ) or self.resolver.service_id(service.remote_name)
        if not service_id:
            raise UsageError(
                f"no Render service {self.resolver.service_name(service.remote_name)!r} "
                f"for {service.name!r}",
                hint=f"shipit deploy {self.context.environment.name}",
            )
        types: tuple[str, ...] = ("build",) if build else ("app",)
        start, end = since, None
        window = self._window(service_id, deployment, build=build) if since is None else None
        if window is not None:
            start, end = window
            if deployment is not None and not build and not follow:
                types = ("build", "app")
        if start is None:
            start = self.now() - render_logs.DEFAULT_LOOKBACK
        query = render_logs.LogQuery(
            self.resolver.owner_id(), service_id, types, start, None if follow else end
        )
        entries = render_logs.read(self.api, query, limit=lines or render_logs.DEFAULT_LIMIT)
        for entry in entries:
            yield parse.to_log_line(entry, service=service.name)
        if not follow:
            return
        finished = self._build_finished(service_id, deployment) if build else None
        for entry in render_logs.follow(
            self.api,
            query,
            sleep=self.sleep,
            interval=self.poll_interval,
            seen=entries,
            now=self.now,
            finished=finished,
        ):
            yield parse.to_log_line(entry, service=service.name)

    def _window(
        self, service_id: str, deployment: Deployment | None, *, build: bool
    ) -> tuple[datetime, datetime | None] | None:
        """The time window of the given deploy, or of the newest one for build lines.

        It opens when Render created the deploy (same clock as the log times, so no line of an
        earlier deploy's build creeps in) and closes a little after it finished.
        """
        deploy: Mapping[str, Any] | None = None
        if deployment is not None:
            try:
                deploy = self._deploy(service_id, deployment.id)
            except ProviderAPIError:
                if deployment.created_at is None:
                    return None
                return deployment.created_at - LOG_SKEW, None
        elif build:
            newest = parse.newest_first(self._deploys(service_id, 1))
            deploy = newest[0] if newest else None
        if deploy is None:
            return None
        begun = parse_time(deploy.get("createdAt")) or parse_time(deploy.get("startedAt"))
        if begun is None:
            return None
        finished = parse_time(deploy.get("finishedAt"))
        return begun, finished + LOG_SKEW if finished else None

    def _build_finished(
        self, service_id: str, deployment: Deployment | None
    ) -> Callable[[], bool] | None:
        deploy_id = deployment.id if deployment is not None else None
        if deploy_id is None:
            newest = parse.newest_first(self._deploys(service_id, 1))
            deploy_id = str(newest[0]["id"]) if newest else None
        if deploy_id is None:
            return None
        known_id = deploy_id

        def finished() -> bool:
            status = str(self._deploy(service_id, known_id).get("status") or "")
            return status not in {"created", "queued", "build_in_progress"}

        return finished

    # releases, status, stop ---------------------------------------------------------------
    def releases(self, service: ServiceSpec) -> list[Release]:
        """The service's deploys as releases, newest first; names from SHIPIT_RELEASES."""
        service_id = self.resolver.service_id(service.remote_name)
        if service_id is None:
            return []
        deploys = parse.newest_first(self._deploys(service_id, DEPLOYS_PAGE))
        if not deploys:
            return []
        names = json_map(self._variables(service_id), parse.RELEASES_VARIABLE)
        return [parse.to_release(d, service=service.name, names=names) for d in deploys]

    def redeploy(self, service: ServiceSpec, release: Release) -> Deployment:
        """Deploy an earlier release again: Render's rollback, or the live image once more."""
        existing = self.resolver.find(service.remote_name)
        if existing is None:
            if release.artifact.kind == "image":
                return self._create(service, release.artifact, release.name)
            raise UsageError(f"service {service.name!r} does not exist on Render")
        suspended = existing.get("suspended") == "suspended"
        if (release.live or suspended) and release.artifact.kind == "image":
            return self._deploy_image(service, existing, release.artifact, release.name)
        service_id = str(existing["id"])
        live = self._live_deploy(service_id)
        try:
            deploy = self.api.call(
                ops.ROLLBACK_DEPLOY, path={"serviceId": service_id}, body={"deployId": release.id}
            )
        except ProviderAPIError as error:
            if error.status in REFUSED and release.artifact.kind == "image":
                return self._deploy_image(service, existing, release.artifact, release.name)
            raise self._unsure(error) from None
        if not isinstance(deploy, dict) or not deploy.get("id"):
            deploy = self._queued(service_id, release.artifact)
        return self._deployment(
            service,
            existing,
            deploy,
            release.artifact,
            release.name,
            previous=str(live["id"]) if live else None,
        )

    def status(self, service: ServiceSpec) -> ServiceStatus:
        """The live deploy, the newest one, and (when there is a URL) one health probe."""
        existing = self.resolver.find(service.remote_name)
        if existing is None:
            return ServiceStatus(service.name, "unknown", extra={"detail": "no Render service"})
        service_id = str(existing["id"])
        deploys = parse.newest_first(self._deploys(service_id, 10))
        latest = deploys[0] if deploys else {}
        live = next((d for d in deploys if d.get("status") in parse.LIVE), None)
        suspended = existing.get("suspended") == "suspended"
        state = _service_state(str(latest.get("status") or ""), live is not None, suspended)
        url = service_url(existing)
        shown = live or latest
        artifact = parse.deploy_artifact(shown) if shown else None
        names = json_map(self._variables(service_id), parse.RELEASES_VARIABLE)
        healthy: bool | None = None
        if live is not None and not suspended and url and service.health_path:
            healthy = probe(self.prober, url, service.health_path, "live").state == "healthy"
        return ServiceStatus(
            service=service.name,
            state=state,
            url=url,
            release=artifact.ref if artifact else None,
            release_name=names.get(artifact_key(artifact)) if artifact else None,
            healthy=healthy,
            since=parse_time(shown.get("finishedAt") or shown.get("createdAt")) if shown else None,
            extra={
                "deploy": shown.get("id") if shown else None,
                "render_status": latest.get("status"),
                "latest_deploy": latest.get("id"),
                "suspended": suspended,
                "dashboard": existing.get("dashboardUrl"),
            },
        )

    def stop(self, service: ServiceSpec) -> None:
        """Suspend the service (no instances run); the next deploy resumes it."""
        existing = self.resolver.find(service.remote_name)
        if existing is None or existing.get("suspended") == "suspended":
            return
        self.api.send(ops.SUSPEND_SERVICE, path={"serviceId": str(existing["id"])})
        existing["suspended"] = "suspended"

    # reads --------------------------------------------------------------------------------
    def _service_id_of(self, service: ServiceSpec, deployment: Deployment) -> str:
        known = deployment.extra.get("service_id")
        if isinstance(known, str) and known:
            return known
        found = self.resolver.service_id(service.remote_name)
        if found is None:
            raise UsageError(f"service {service.name!r} does not exist on Render")
        return found

    def _deploy(self, service_id: str, deploy_id: str) -> dict[str, Any]:
        answer = self.api.call(
            ops.RETRIEVE_DEPLOY, path={"serviceId": service_id, "deployId": deploy_id}
        )
        return answer if isinstance(answer, dict) else {}

    def _deploys(self, service_id: str, limit: int) -> list[dict[str, Any]]:
        return list(
            self.api.pages(
                ops.LIST_DEPLOYS, "deploy", path={"serviceId": service_id}, limit=limit, most=limit
            )
        )

    def _live_deploy(self, service_id: str) -> dict[str, Any] | None:
        found = self.api.pages(
            ops.LIST_DEPLOYS,
            "deploy",
            path={"serviceId": service_id},
            params={"status": ["live"]},
            limit=1,
            most=1,
        )
        return next(iter(found), None)

    def close(self) -> None:
        """Close the HTTP clients."""
        self.api.close()
        self.prober.close()


def _service_state(latest_status: str, has_live: bool, suspended: bool) -> ServiceState:
    if suspended:
        return "stopped"
    if latest_status in parse.IN_PROGRESS:
        return "deploying"
    if has_live:
        return "running"
    if latest_status in parse.FAILED:
        return "failed"
    if latest_status in parse.CANCELED or latest_status in parse.SUPERSEDED:
        return "stopped"
    return "unknown"
