"""The Railway adapter: the Provider operations as calls to Railway's public GraphQL API.

How each operation maps to Railway (details and sources in the shared API notes):

- ``deploy`` of an image: point the service instance at the pinned image
  (``serviceInstanceUpdate``), then start exactly one deployment (``serviceInstanceDeployV2``,
  never retried). A ``source`` artifact is uploaded like ``railway up`` and built by Railway;
  it cannot be promoted. The service is created (empty) on first use.
- ``set_env``: one ``variableCollectionUpsert`` with ``skipDeploys`` for every changed value,
  ``variableDelete`` for each name to remove that exists; untouched names stay.
- ``link_db``: see ``database.py``; ``DATABASE_URL`` becomes ``${{Postgres.DATABASE_URL}}``.
- ``health``: the deployment's status (terminal states from the schema's DeploymentStatus),
  then one GET of the service's health path on its public domain, when it has one.
- ``settle``: Railway switches traffic only after its own health check passes, so a failed
  deployment never served. A deployment still in progress when shipit gives up is cancelled, so
  it cannot go live later; the previous deployment keeps serving.
- ``releases``: the service's deployments, newest first; the artifact comes from each
  deployment's ``meta.image`` and names from ``SHIPIT_RELEASES`` (see ``parse.py``).
- ``redeploy``: an image release is deployed again by reference (not bound by Railway's image
  retention, keeps current variables); a source build uses ``deploymentRollback``.
- ``stop``: removes the active deployments (what ``railway down`` does).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Final

import httpx

from shipit.config.models import RailwayBlock
from shipit.config.overlay import ServiceSpec
from shipit.errors import AuthError, ConfigError, ProviderAPIError, UsageError
from shipit.http import GraphQLResponseError, RetryPolicy
from shipit.providers.base import (
    Artifact,
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
from shipit.providers.probe import Prober
from shipit.providers.railway import logs as railway_logs
from shipit.providers.railway import operations as ops
from shipit.providers.railway import parse, source
from shipit.providers.railway.client import RailwayClient
from shipit.providers.railway.database import PostgresLinker
from shipit.providers.railway.resolve import Resolver, Target
from shipit.providers.timestamps import parse_time, rfc3339
from shipit.sensitive import Secret, reveal

DEPLOYMENTS_PAGE: Final = 50
ROLLBACK_POLLS: Final = 10
BUILD_PHASE: Final = frozenset({"INITIALIZING", "QUEUED", "WAITING", "BUILDING", "NEEDS_APPROVAL"})
LOOPBACK_HOSTS: Final = frozenset({"localhost", "::1", "[::1]"})


class RailwayProvider:
    """Deploys the services of one shipit environment to one Railway project environment."""

    name: ClassVar[str] = "railway"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.BUILD,
            Capability.DEPLOY_IMAGE,
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

    def __init__(
        self,
        context: ProviderContext,
        *,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = railway_logs.FOLLOW_INTERVAL,
    ) -> None:
        environment = context.environment
        block = require_block(environment, RailwayBlock, "railway", 'project = "..."')
        self.context = context
        self.sleep = sleep
        self.poll_interval = poll_interval
        self.api = RailwayClient(
            context.token,
            token_kind=str(context.extra.get("token_kind") or "bearer"),
            verbose=context.verbose,
            policy=policy,
            transport=transport,
        )
        self.resolver = Resolver(
            self.api,
            env_name=environment.name,
            project=block.project,
            environment=block.environment,
            workspace=block.workspace,
        )
        self.prober = Prober("railway", verbose=context.verbose, transport=transport)

    # build and deploy ---------------------------------------------------------------------
    def planned_artifact(self, service: ServiceSpec) -> Artifact | None:
        """Unknown ahead: Railway builds the uploaded source itself (a plan says "will build")."""
        return None

    def build(self, service: ServiceSpec) -> Artifact:
        """Pack the service's source for a Railway build (deployable, never promotable)."""
        if not service.source.is_dir():
            raise ConfigError(
                f"the source folder of service {service.name!r} does not exist: {service.source}",
                key=f"services.{service.name}.source",
                hint="point `source` at the folder that holds the service's code",
            )
        archive, digest = source.pack(service.source)
        folder = self.context.state_dir / "railway"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{digest.removeprefix('sha256:')[:16]}.tar.gz"
        partial = path.with_suffix(".partial")
        partial.write_bytes(archive)
        partial.replace(path)
        return Artifact(
            kind="source",
            ref=f"railway-upload:{digest.removeprefix('sha256:')[:12]}",
            digest=digest,
            extra={"archive": str(path), "bytes": len(archive)},
        )

    def deploy(
        self, service: ServiceSpec, artifact: Artifact, *, release_name: str | None = None
    ) -> Deployment:
        """Start one deployment of ``artifact``; returns its id at once (``health`` follows it)."""
        if artifact.kind not in {"image", "source"}:
            raise UsageError(
                f"a local release bundle cannot be deployed to Railway ({artifact.ref})",
                hint=f"give services.{service.name} an `image` (and a [build] table to build it)",
            )
        target = self.resolver.target()
        service_id = self.resolver.ensure_service(service.remote_name)
        if artifact.kind == "image":
            if release_name:
                self._name_release(target, service_id, artifact, release_name)
            return self._deploy_image(service, service_id, artifact, release_name)
        return self._deploy_source(service, service_id, artifact, release_name)

    def _deploy_image(
        self,
        service: ServiceSpec,
        service_id: str,
        artifact: Artifact,
        release_name: str | None,
    ) -> Deployment:
        target = self.resolver.target()
        instance = self._instance(target, service_id)
        settings = {**self._settings(service), "source": {"image": artifact.ref}}
        self.api.call(
            ops.SERVICE_INSTANCE_UPDATE,
            serviceId=service_id,
            environmentId=target.environment_id,
            input=settings,
        )
        try:
            data = self.api.call(
                ops.SERVICE_INSTANCE_DEPLOY,
                environmentId=target.environment_id,
                serviceId=service_id,
            )
        except ProviderAPIError as error:
            if error.status is None and not isinstance(error, GraphQLResponseError):
                error.hint = (
                    "no answer came back, so the deployment may have started: check "
                    f"`shipit releases {self.context.environment.name}` before deploying again"
                )
            else:  # refused: nothing started, so point the service back at what it ran
                previous = ((instance or {}).get("source") or {}).get("image")
                self._restore_source(target, service_id, previous, artifact.ref)
            raise
        return self._deployment(
            str(data["serviceInstanceDeployV2"]),
            service,
            service_id,
            artifact,
            release_name,
            instance,
        )

    def _deploy_source(
        self,
        service: ServiceSpec,
        service_id: str,
        artifact: Artifact,
        release_name: str | None,
    ) -> Deployment:
        archive_path = artifact.extra.get("archive")
        if not isinstance(archive_path, str) or not Path(archive_path).is_file():
            raise UsageError(
                f"the source archive of {service.name!r} is missing",
                hint="run the deploy again (it packs the source first)",
            )
        target = self.resolver.target()
        instance = self._instance(target, service_id)
        settings = self._settings(service)
        if service.build_command:
            settings["buildCommand"] = service.build_command
        if settings:
            self.api.call(
                ops.SERVICE_INSTANCE_UPDATE,
                serviceId=service_id,
                environmentId=target.environment_id,
                input=settings,
            )
        answer = self.api.upload(
            project_id=target.project_id,
            environment_id=target.environment_id,
            service_id=service_id,
            archive=Path(archive_path).read_bytes(),
            message=f"shipit {release_name}" if release_name else "shipit deploy",
        )
        return self._deployment(
            str(answer["deploymentId"]), service, service_id, artifact, release_name, instance
        )

    def _settings(self, service: ServiceSpec) -> dict[str, Any]:
        """Service-instance settings from config; unset ones are left out (null clears)."""
        settings: dict[str, Any] = {"numReplicas": service.replicas}
        if service.health_path:
            settings["healthcheckPath"] = service.health_path
            settings["healthcheckTimeout"] = math.ceil(service.health_timeout)
        if service.start:
            settings["startCommand"] = service.start
        return settings

    def _deployment(
        self,
        deployment_id: str,
        service: ServiceSpec,
        service_id: str,
        artifact: Artifact,
        release_name: str | None,
        instance: Mapping[str, Any] | None,
    ) -> Deployment:
        target = self.resolver.target()
        return Deployment(
            id=deployment_id,
            service=service.name,
            artifact=artifact,
            state="queued",
            url=_domain_url(instance),
            release_name=release_name,
            created_at=datetime.now(UTC),
            extra={
                "project_id": target.project_id,
                "environment_id": target.environment_id,
                "service_id": service_id,
            },
        )

    def _name_release(
        self, target: Target, service_id: str, artifact: Artifact, release_name: str
    ) -> None:
        """Record ``release_name`` for the artifact in SHIPIT_RELEASES (skipping deploys)."""
        current = self._variables(target, service_id)
        index = json_map(current, parse.RELEASES_VARIABLE)
        key = artifact_key(artifact)
        if index.get(key) == release_name:
            return
        self._upsert(
            target,
            service_id,
            {parse.RELEASES_VARIABLE: with_entry(index, key, release_name)},
        )

    # health -------------------------------------------------------------------------------
    def health(self, service: ServiceSpec, deployment: Deployment) -> HealthResult:
        """The deployment's Railway status, then one GET of the health path on its domain."""
        node = self.api.call(ops.DEPLOYMENT, id=deployment.id)["deployment"]
        status = str(node.get("status"))
        extra = {"status": status}
        if status in parse.IN_PROGRESS:
            detail = f"Railway: {status.lower()}"
            if status == "NEEDS_APPROVAL":
                detail += " (approve the deployment in the Railway dashboard)"
            return HealthResult("pending", detail, url=deployment.url, extra=extra)
        if status in parse.FAILED or status in parse.ENDED:
            return HealthResult(
                "failed", self._failure(deployment.id, status), url=deployment.url, extra=extra
            )
        if node.get("deploymentStopped"):
            return HealthResult(
                "failed", "the process exited (Railway: deployment stopped)", extra=extra
            )
        ran = parse.meta_image(node.get("meta"))
        if deployment.artifact.kind == "image" and ran and ran != deployment.artifact.ref:
            return HealthResult(
                "failed",
                f"Railway deployed {ran}, not {deployment.artifact.ref}",
                url=deployment.url,
                extra=extra,
            )
        if deployment.artifact.kind == "image" and not ran:
            self._record_image(service, deployment)
        url = deployment.url or _url(node.get("staticUrl"))
        return self._probe(service, url, status)

    def _record_image(self, service: ServiceSpec, deployment: Deployment) -> None:
        """Remember which image a deployment ran, for when Railway's meta does not say it."""
        try:
            target = self.resolver.target()
            service_id = deployment.extra.get("service_id") or self.resolver.service_id(
                service.remote_name
            )
            if not service_id:
                return
            images = json_map(self._variables(target, str(service_id)), parse.IMAGES_VARIABLE)
            if images.get(deployment.id) != deployment.artifact.ref:
                stored = with_entry(images, deployment.id, deployment.artifact.ref)
                self._upsert(target, str(service_id), {parse.IMAGES_VARIABLE: stored})
        except ProviderAPIError:
            pass  # only a record; releases fall back to the configured image

    def _failure(self, deployment_id: str, status: str) -> str:
        """``Railway deployment FAILED`` plus the reason Railway recorded, when it has one."""
        detail = f"Railway deployment {status}"
        try:
            data = self.api.call(ops.DEPLOYMENT_EVENTS, id=deployment_id, first=50)
        except ProviderAPIError:
            return detail
        for node in reversed(parse.edges(data.get("deploymentEvents"))):
            payload = node.get("payload") or {}
            reason = payload.get("error") or payload.get("reason")
            if reason:
                return f"{detail} at {str(node.get('step', '')).lower()}: {reason}"
        return detail

    def _probe(self, service: ServiceSpec, url: str | None, status: str) -> HealthResult:
        extra = {"status": status}
        if not service.health_path or not url:
            detail = f"Railway: {status.lower()}"
            if service.health_path:
                detail += " (no public domain to probe; Railway checked the health path)"
            return HealthResult("healthy", detail, url=url, extra=extra)
        return self.prober.probe(url, service.health_path, extra=extra)

    def settle(self, service: ServiceSpec, deployment: Deployment, *, healthy: bool) -> None:
        """Nothing to do when healthy; otherwise stop a deployment that could still go live."""
        if healthy:
            return
        try:
            status = str(self.api.call(ops.DEPLOYMENT, id=deployment.id)["deployment"]["status"])
            if status in parse.CANCELLABLE:
                self.api.call(ops.DEPLOYMENT_CANCEL, id=deployment.id)
            elif status == "DEPLOYING":
                self.api.call(ops.DEPLOYMENT_REMOVE, id=deployment.id)
            if deployment.artifact.kind == "image":
                target = self.resolver.target()
                service_id = str(deployment.extra.get("service_id") or "")
                instance = self._instance(target, service_id) if service_id else None
                live = [
                    parse.meta_image(d.get("meta"))
                    for d in (instance or {}).get("activeDeployments") or []
                    if d.get("status") in parse.LIVE
                ]
                configured = ((instance or {}).get("source") or {}).get("image")
                self._restore_source(target, service_id, live[0] if live else None, configured)
        except ProviderAPIError:
            pass  # the deploy already failed; the previous deployment keeps serving either way

    def _restore_source(
        self, target: Target, service_id: str, image: str | None, current: str | None
    ) -> None:
        """Point the service instance back at ``image`` (what still serves), if it differs."""
        if not image or image == current:
            return
        self.api.call(
            ops.SERVICE_INSTANCE_UPDATE,
            serviceId=service_id,
            environmentId=target.environment_id,
            input={"source": {"image": image}},
        )

    # env ----------------------------------------------------------------------------------
    def get_env(self, service: ServiceSpec) -> Mapping[str, str | Secret] | None:
        """The service's variables as written (references unresolved); secrets wrapped."""
        service_id = self.resolver.service_id(service.remote_name)
        if service_id is None:
            return None
        values = self._variables(self.resolver.target(), service_id)
        result: dict[str, str | Secret] = {}
        for name, value in sorted(values.items()):
            if value is None or name in parse.BOOKKEEPING:
                continue
            text = str(value)
            result[name] = Secret(text) if name in service.secrets else text
        return result

    def set_env(
        self, service: ServiceSpec, values: EnvValues, unset: Sequence[str] = ()
    ) -> EnvApplied:
        """Write changed values in one call (no automatic redeploy); delete ``unset`` names."""
        target = self.resolver.target()
        service_id = self.resolver.ensure_service(service.remote_name)
        current = self._variables(target, service_id)
        changed = {
            name: reveal(value)
            for name, value in values.items()
            if current.get(name) != reveal(value)
        }
        if changed:
            self._upsert(target, service_id, changed)
        removed: list[str] = []
        for name in unset:
            if name in values or current.get(name) is None:
                continue
            try:
                self.api.call(
                    ops.VARIABLE_DELETE,
                    input={
                        "projectId": target.project_id,
                        "environmentId": target.environment_id,
                        "serviceId": service_id,
                        "name": name,
                    },
                )
            except ProviderAPIError as error:
                if "not found" not in error.message.casefold():
                    raise
            removed.append(name)
        return EnvApplied(
            set=tuple(sorted(changed)),
            unset=tuple(removed),
            needs_deploy=bool(changed or removed),
        )

    def _variables(self, target: Target, service_id: str) -> dict[str, Any]:
        data = self.api.call(
            ops.VARIABLES,
            projectId=target.project_id,
            environmentId=target.environment_id,
            serviceId=service_id,
            unrendered=True,
        )
        variables = data.get("variables")
        return dict(variables) if isinstance(variables, Mapping) else {}

    def _upsert(self, target: Target, service_id: str, variables: Mapping[str, str]) -> None:
        self.api.call(
            ops.VARIABLE_COLLECTION_UPSERT,
            input={
                "projectId": target.project_id,
                "environmentId": target.environment_id,
                "serviceId": service_id,
                "variables": dict(variables),
                "skipDeploys": True,
            },
        )

    def link_db(self, service: ServiceSpec) -> DatabaseLink:
        """Reuse or create the environment's Railway Postgres; DATABASE_URL as a reference."""
        if service.database != "postgres":
            raise ConfigError(
                f"Railway offers no {service.database!r} database for service {service.name!r}",
                key=f"services.{service.name}.database",
                hint='use database = "postgres" for Railway environments',
            )
        service_id = self.resolver.ensure_service(service.remote_name)
        linker = PostgresLinker(self.api, self.resolver, sleep=self.sleep)
        try:
            return linker.link(service_id)
        except AuthError as error:
            if self.api.token_kind == "project":
                error.hint = (
                    "creating Postgres may need an account or workspace token: set "
                    "RAILWAY_API_TOKEN instead of RAILWAY_TOKEN, or add Postgres in the dashboard"
                )
            raise

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
        """Build or runtime lines of a deployment (default: the live one, else the newest).

        Asked for the runtime lines of a given deployment that never ran (it failed while
        building), this gives its build lines: they say why.
        """
        target = self.resolver.target()
        if deployment is not None:
            deployment_id: str | None = deployment.id
        else:
            service_id = self.resolver.service_id(service.remote_name)
            deployment_id = self._pick(target, service_id, build=build) if service_id else None
        if deployment_id is None:
            raise UsageError(
                f"nothing is deployed for service {service.name!r} in Railway environment "
                f"{target.environment_name!r}",
                hint=f"shipit deploy {self.context.environment.name}",
            )
        start = rfc3339(since) if since else None
        limit = lines or railway_logs.DEFAULT_LIMIT
        nodes = railway_logs.read(self.api, deployment_id, build=build, limit=limit, start=start)
        stream_build = build
        if not nodes and not build and deployment is not None and not follow:
            nodes = railway_logs.read(self.api, deployment_id, build=True, limit=limit, start=start)
            stream_build = True
        for node in nodes:
            yield self._line(service, node, stream_build)
        if not follow:
            return
        finished = self._build_finished(deployment_id) if build else None
        for node in railway_logs.follow(
            self.api,
            deployment_id,
            build=build,
            start=start,
            sleep=self.sleep,
            interval=self.poll_interval,
            finished=finished,
            seen=nodes,
        ):
            yield self._line(service, node, build)

    def _line(self, service: ServiceSpec, node: Mapping[str, Any], build: bool) -> LogLine:
        return parse.to_log_line(node, service=service.name, stream="build" if build else "runtime")

    def _build_finished(self, deployment_id: str) -> Callable[[], bool]:
        def finished() -> bool:
            node = self.api.call(ops.DEPLOYMENT, id=deployment_id)["deployment"]
            return str(node.get("status")) not in BUILD_PHASE

        return finished

    def _pick(self, target: Target, service_id: str, *, build: bool) -> str | None:
        """The deployment to read logs of: the newest (build), else the live one or the newest."""
        nodes = self._deployments(target, service_id)
        if not nodes:
            return None
        if not build:
            live = parse.live_id(nodes)
            if live:
                return live
        return str(nodes[0]["id"])

    # releases, status, stop ---------------------------------------------------------------
    def releases(self, service: ServiceSpec) -> list[Release]:
        """The service's deployments as releases, newest first; names from SHIPIT_RELEASES."""
        service_id = self.resolver.service_id(service.remote_name)
        if service_id is None:
            return []
        target = self.resolver.target()
        nodes = self._deployments(target, service_id)
        if not nodes:
            return []
        live = parse.live_id(nodes)
        variables = self._variables(target, service_id)
        names = json_map(variables, parse.RELEASES_VARIABLE)
        images = json_map(variables, parse.IMAGES_VARIABLE)
        return [
            parse.to_release(
                node,
                service=service.name,
                live=node["id"] == live,
                names=names,
                fallback_image=images.get(str(node["id"])),
            )
            for node in nodes
        ]

    def _deployments(self, target: Target, service_id: str) -> list[dict[str, Any]]:
        data = self.api.call(
            ops.DEPLOYMENTS,
            input={
                "projectId": target.project_id,
                "environmentId": target.environment_id,
                "serviceId": service_id,
            },
            first=DEPLOYMENTS_PAGE,
        )
        nodes = parse.edges(data.get("deployments"))
        return sorted(nodes, key=lambda n: str(n.get("createdAt") or ""), reverse=True)

    def redeploy(self, service: ServiceSpec, release: Release) -> Deployment:
        """Deploy an earlier release again; an image by reference, a source build by rollback."""
        if release.artifact.kind == "image":
            created_or_found = self.resolver.ensure_service(service.remote_name)
            return self._deploy_image(service, created_or_found, release.artifact, release.name)
        service_id = self.resolver.service_id(service.remote_name)
        if service_id is None:
            raise UsageError(f"service {service.name!r} does not exist on Railway")
        target = self.resolver.target()
        instance = self._instance(target, service_id)
        before = ((instance or {}).get("latestDeployment") or {}).get("id")
        self.api.call(ops.DEPLOYMENT_ROLLBACK, id=release.id)
        for _ in range(ROLLBACK_POLLS):  # the mutation returns no id: find the new deployment
            latest = (self._instance(target, service_id) or {}).get("latestDeployment") or {}
            if latest.get("id") and latest["id"] != before:
                return self._deployment(
                    str(latest["id"]), service, service_id, release.artifact, release.name, instance
                )
            self.sleep(1.0)
        raise ProviderAPIError(
            "railway",
            f"Railway accepted the rollback to {release.id} but no new deployment appeared",
            hint=f"check `shipit releases {self.context.environment.name}` in a moment",
        )

    def status(self, service: ServiceSpec) -> ServiceStatus:
        """The live deployment, the newest one, and (when there is a domain) one health probe."""
        service_id = self.resolver.service_id(service.remote_name)
        target = self.resolver.target()
        instance = self._instance(target, service_id) if service_id else None
        if instance is None:
            return ServiceStatus(service.name, "unknown", extra={"detail": "no Railway service"})
        latest = instance.get("latestDeployment") or {}
        active = [
            d
            for d in instance.get("activeDeployments") or []
            if d.get("status") in parse.LIVE and not d.get("deploymentStopped")
        ]
        live = max(active, key=lambda d: str(d.get("createdAt") or "")) if active else None
        state = _service_state(str(latest.get("status") or ""), live is not None)
        url = _domain_url(instance)
        shown = live or latest
        variables = self._variables(target, str(service_id)) if shown else {}
        recorded = json_map(variables, parse.IMAGES_VARIABLE).get(str(shown.get("id")))
        configured = (instance.get("source") or {}).get("image")
        artifact = parse.deployment_artifact(shown, recorded or configured) if shown else None
        names = json_map(variables, parse.RELEASES_VARIABLE)
        healthy: bool | None = None
        if live is not None and url and service.health_path:
            healthy = self._probe(service, url, "SUCCESS").state == "healthy"
        return ServiceStatus(
            service=service.name,
            state=state,
            url=url,
            release=artifact.ref if artifact else None,
            release_name=names.get(artifact_key(artifact)) if artifact else None,
            healthy=healthy,
            since=parse_time((shown or {}).get("createdAt")),
            extra={
                "deployment": (shown or {}).get("id"),
                "railway_status": latest.get("status"),
                "latest_deployment": latest.get("id"),
            },
        )

    def stop(self, service: ServiceSpec) -> None:
        """Remove the service's active deployments (``railway down``); config and data stay."""
        service_id = self.resolver.service_id(service.remote_name)
        if service_id is None:
            return
        instance = self._instance(self.resolver.target(), service_id)
        for deployment in (instance or {}).get("activeDeployments") or []:
            self.api.call(ops.DEPLOYMENT_REMOVE, id=str(deployment["id"]))

    def _instance(self, target: Target, service_id: str) -> dict[str, Any] | None:
        """The service's instance in the environment, or None when it has none there."""
        try:
            data = self.api.call(
                ops.SERVICE_INSTANCE, environmentId=target.environment_id, serviceId=service_id
            )
        except GraphQLResponseError as error:
            if error.mentions("not found"):
                return None
            raise
        instance = data.get("serviceInstance")
        return instance if isinstance(instance, dict) else None

    def close(self) -> None:
        """Close the HTTP clients."""
        self.api.close()
        self.prober.close()


def _service_state(latest_status: str, has_live: bool) -> ServiceState:
    if latest_status in parse.IN_PROGRESS:
        return "deploying"
    if has_live:
        return "running"
    if latest_status == "CRASHED":
        return "crashed"
    if latest_status == "FAILED":
        return "failed"
    if latest_status in parse.ENDED or latest_status in parse.LIVE:
        return "stopped"
    return "unknown"


def _domain_url(instance: Mapping[str, Any] | None) -> str | None:
    """The service's public URL: its first Railway domain, else its first custom domain."""
    domains = (instance or {}).get("domains") or {}
    for kind in ("serviceDomains", "customDomains"):
        for domain in domains.get(kind) or []:
            if domain.get("domain"):
                return _url(str(domain["domain"]))
    return None


def _url(domain: str | None) -> str | None:
    """``https://domain`` (plain HTTP for loopback hosts, as for registries)."""
    if not domain:
        return None
    if domain.startswith(("http://", "https://")):
        return domain.rstrip("/")
    host = domain.split("/", 1)[0]
    hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    loopback = hostname in LOOPBACK_HOSTS or hostname.startswith("127.")
    return f"{'http' if loopback else 'https'}://{domain.rstrip('/')}"
