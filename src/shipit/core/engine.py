"""Apply a deploy to one environment: build -> set_env -> link_db -> deploy -> health gate.

Services roll out concurrently, each in its own thread; progress goes through a Reporter. The
engine never knows which provider it drives: it checks capabilities and calls the protocol.
A service whose health gate fails is settled as unhealthy, which leaves the previous release
serving where the platform allows, and the deploy as a whole fails with exit code 5.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from shipit.config.overlay import Environment, ServiceSpec
from shipit.core.health import wait_healthy
from shipit.core.reporter import NullReporter, Reporter
from shipit.errors import ConfigError, DeployFailedError, ShipitError, UsageError
from shipit.providers.base import (
    Artifact,
    Capability,
    Deployment,
    EnvApplied,
    HealthResult,
    Provider,
    Release,
)
from shipit.sensitive import Secret

LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class ServiceOutcome:
    """How one service's rollout ended."""

    service: str
    ok: bool
    step: str
    artifact: Artifact | None = None
    deployment: Deployment | None = None
    health: HealthResult | None = None
    url: str | None = None
    release: str | None = None
    release_name: str | None = None
    error: str | None = None
    log_tail: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    duration: float = 0.0


@dataclass(frozen=True)
class DeployResult:
    """The outcome of a deploy, promote or rollback of one environment."""

    action: str
    environment: str
    provider: str
    services: tuple[ServiceOutcome, ...]
    release_name: str | None = None
    duration: float = 0.0
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every service passed its health gate."""
        return all(outcome.ok for outcome in self.services)

    def raise_for_failure(self) -> None:
        """A DeployFailedError (exit 5) naming the failed services, with their last log lines."""
        failed = [o for o in self.services if not o.ok]
        if not failed:
            return
        names = ", ".join(f"{o.service} ({o.step}: {o.error})" for o in failed)
        tail = [f"{o.service} | {line}" for o in failed for line in o.log_tail]
        raise DeployFailedError(
            f"{self.action} of {self.environment!r} failed: {names}",
            log_tail=tail,
            hint=("the lines above are the failed attempt's last log lines; " if tail else "")
            + "the previous release keeps serving where the provider allows "
            f"(`shipit status {self.environment}`)",
        )


class _StepFailed(Exception):
    def __init__(self, step: str, message: str, log_tail: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.step = step
        self.log_tail = list(log_tail)


def select_services(env: Environment, names: Iterable[str] | None) -> list[ServiceSpec]:
    """The services to act on: all of them, or the named ones (unknown names are errors)."""
    chosen = list(names or [])
    if not chosen:
        return list(env.services.values())
    unknown = [n for n in chosen if n not in env.services]
    if unknown:
        raise UsageError(
            f"unknown service {unknown[0]!r} (defined: {', '.join(env.services)})",
            hint="check -s/--service",
        )
    return [env.services[n] for n in chosen]


def env_values(service: ServiceSpec, secrets: Mapping[str, Secret]) -> dict[str, str | Secret]:
    """The variables a service gets: its plain env plus the values of its secrets."""
    values: dict[str, str | Secret] = dict(service.env)
    for name in service.secrets:
        if name not in secrets:
            raise UsageError(f"secret {name!r} has no value", hint=f"shipit env set {name}")
        values[name] = secrets[name]
    return values


class Engine:
    """Rolls services of one environment out through a provider."""

    def __init__(
        self,
        env: Environment,
        provider: Provider,
        secrets: Mapping[str, Secret],
        reporter: Reporter | None = None,
        *,
        builder: str | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.env = env
        self.provider = provider
        self.secrets = secrets
        self.reporter = reporter or NullReporter()
        self.builder = builder
        # Set on Ctrl-C: rollouts stop waiting and settle as unhealthy, so the old release serves.
        self._cancel = threading.Event()
        self.sleep: Callable[[float], object] = sleep or self._cancel.wait

    # public operations --------------------------------------------------------------------
    def deploy(
        self,
        services: Sequence[ServiceSpec],
        *,
        release_name: str | None = None,
        artifacts: Mapping[str, Artifact] | None = None,
        action: str = "deploy",
        expected: Mapping[str, Artifact] | None = None,
    ) -> DeployResult:
        """Build (unless ``artifacts`` gives one) and roll out each service, concurrently.

        ``expected`` holds the artifacts a shown plan promised: a build that produces anything
        else fails that service before any change is made (the plan no longer holds).
        """
        given = artifacts or {}
        promised = expected or {}

        def rollout(service: ServiceSpec) -> ServiceOutcome:
            return self._rollout(
                service,
                artifact=given.get(service.name),
                release_name=release_name,
                start=None,
                expected=promised.get(service.name),
            )

        return self._run(action, services, rollout, release_name)

    def rollback(
        self, services: Sequence[ServiceSpec], targets: Mapping[str, Release]
    ) -> DeployResult:
        """Redeploy an earlier release of each service (never rebuilds)."""
        self._require(Capability.ROLLBACK, "rollback")

        def rollout(service: ServiceSpec) -> ServiceOutcome:
            release = targets[service.name]
            return self._rollout(
                service,
                artifact=release.artifact,
                release_name=release.name,
                start=lambda: self.provider.redeploy(service, release),
            )

        return self._run("rollback", services, rollout, None)

    def push_env(
        self, services: Sequence[ServiceSpec], *, unset: Sequence[str] = ()
    ) -> DeployResult:
        """Apply env to the provider: one set_env per service, then at most one redeploy each."""
        self._require(Capability.SET_ENV, "env push")

        def rollout(service: ServiceSpec) -> ServiceOutcome:
            started = time.monotonic()
            values = env_values(service, self.secrets)
            self.reporter.step(service.name, "set_env", "start", f"{len(values)} variables")
            applied = self.provider.set_env(service, values, unset)
            self.reporter.step(service.name, "set_env", "done", _applied_text(applied))
            if not applied.needs_deploy:
                return ServiceOutcome(service.name, True, "set_env", duration=_since(started))
            live = live_release(self.provider, service)
            if live is None:
                warning = (
                    f"{service.name}: nothing deployed yet; the variables apply at next deploy"
                )
                self.reporter.warn(warning)
                return ServiceOutcome(
                    service.name, True, "set_env", warnings=(warning,), duration=_since(started)
                )
            return self._rollout(
                service,
                artifact=live.artifact,
                release_name=live.name,
                start=lambda: self.provider.redeploy(service, live),
                env_already_set=True,
            )

        return self._run("env push", services, rollout, None)

    # internals ----------------------------------------------------------------------------
    def _require(self, capability: Capability, what: str) -> None:
        if capability not in self.provider.capabilities:
            raise UsageError(
                f"the {self.provider.name} provider cannot {what}",
                hint=f"environment {self.env.name!r} uses {self.provider.name!r}",
            )

    def _run(
        self,
        action: str,
        services: Sequence[ServiceSpec],
        rollout: Callable[[ServiceSpec], ServiceOutcome],
        release_name: str | None,
    ) -> DeployResult:
        started = time.monotonic()
        if not services:
            raise UsageError("no services to act on")
        with ThreadPoolExecutor(max_workers=len(services), thread_name_prefix="rollout") as pool:
            futures = [pool.submit(rollout, service) for service in services]
            try:
                wait(futures)
            except KeyboardInterrupt:
                self._cancel.set()
                self.reporter.warn("interrupted: stopping; the previous release keeps serving")
                wait(futures)
                raise
            outcomes: list[ServiceOutcome] = []
            errors: list[BaseException] = []
            for future in futures:
                try:
                    outcomes.append(future.result())
                except BaseException as error:
                    errors.append(error)
        if errors:
            # A configuration, auth or API error ends the command with its own exit code.
            raise errors[0]
        return DeployResult(
            action=action,
            environment=self.env.name,
            provider=self.provider.name,
            services=tuple(outcomes),
            release_name=release_name,
            duration=_since(started),
        )

    def _rollout(
        self,
        service: ServiceSpec,
        *,
        artifact: Artifact | None,
        release_name: str | None,
        start: Callable[[], Deployment] | None,
        env_already_set: bool = False,
        expected: Artifact | None = None,
    ) -> ServiceOutcome:
        started = time.monotonic()
        warnings: list[str] = []
        name = service.name
        step = "build"
        deployment: Deployment | None = None
        settled = False
        try:
            if artifact is None:
                artifact = self._build(service)
                _check_expected(artifact, expected)
            step = "set_env"
            if not env_already_set and Capability.SET_ENV in self.provider.capabilities:
                values = env_values(service, self.secrets)
                self.reporter.step(name, step, "start", f"{len(values)} variables")
                applied = self.provider.set_env(service, values)
                self.reporter.step(name, step, "done", _applied_text(applied))
            step = "link_db"
            if service.database and Capability.LINK_DB in self.provider.capabilities:
                self.reporter.step(name, step, "start", service.database)
                link = self.provider.link_db(service)
                self.reporter.step(name, step, "done", link.description or link.variable)
            elif service.database:
                warnings.append(f"{name}: the {self.provider.name} provider cannot link a database")
            step = "deploy"
            if self._cancel.is_set():
                raise _StepFailed(step, "interrupted before the deploy started")
            self.reporter.step(name, step, "start", artifact.short)
            if start is None:
                self._check_deployable(artifact)
                deployment = self.provider.deploy(service, artifact, release_name=release_name)
            else:
                deployment = start()
            warning = deployment.extra.get("warning")
            if isinstance(warning, str):
                warnings.append(f"{name}: {warning}")
                self.reporter.warn(f"{name}: {warning}")
            self.reporter.step(name, step, "done", deployment.url or deployment.id)
            step = "health"
            self.reporter.step(name, step, "start", service.health_path or "provider status")
            health = wait_healthy(
                self.provider,
                service,
                deployment,
                timeout=service.health_timeout,
                sleep=self.sleep,
                cancelled=self._cancel.is_set,
            )
            healthy = health.state == "healthy"
            settled = True  # settle is called once, whatever it does
            self.provider.settle(service, deployment, healthy=healthy)
            if not healthy:
                raise _StepFailed(step, health.detail or "health check failed")
            if health.release and health.release != artifact.ref and artifact.kind == "bundle":
                warnings.append(f"{name}: health reports release {health.release}")
            self.reporter.step(name, step, "done", health.detail or "healthy")
            return ServiceOutcome(
                service=name,
                ok=True,
                step="live",
                artifact=artifact,
                deployment=deployment,
                health=health,
                url=deployment.url or health.url,
                release=artifact.ref,
                release_name=release_name,
                warnings=tuple(warnings),
                duration=_since(started),
            )
        except (_StepFailed, DeployFailedError) as failure:
            message = str(failure)
            if not settled:
                self._settle_unhealthy(service, deployment, step)
            self.reporter.step(name, step, "fail", message)
            tail = list(failure.log_tail)
            if not tail:
                tail, warning = self._log_tail(service, deployment, build=(step == "build"))
                if warning:
                    warnings.append(warning)
            return ServiceOutcome(
                service=name,
                ok=False,
                step=step,
                artifact=artifact,
                deployment=deployment,
                url=deployment.url if deployment else None,
                release=artifact.ref if artifact else None,
                release_name=release_name,
                error=message,
                log_tail=tuple(tail),
                warnings=tuple(warnings),
                duration=_since(started),
            )
        except ShipitError:
            if not settled:
                self._settle_unhealthy(service, deployment, step)
            self.reporter.step(name, step, "fail")
            raise

    def _settle_unhealthy(
        self, service: ServiceSpec, deployment: Deployment | None, step: str
    ) -> None:
        """After an error between deploy and settle, keep the previous release serving."""
        if deployment is None or step not in {"deploy", "health"}:
            return
        try:
            self.provider.settle(service, deployment, healthy=False)
        except Exception as error:  # the original error is the one to report
            self.reporter.warn(f"{service.name}: could not settle the failed deploy: {error}")

    def _build(self, service: ServiceSpec) -> Artifact:
        """The service's artifact: an image for image-capable providers, else the provider's."""
        caps = self.provider.capabilities
        name = service.name
        if Capability.DEPLOY_IMAGE in caps and (service.build or service.image):
            from shipit import artifacts

            if service.build is not None:
                self.reporter.step(name, "build", "start", f"image {service.image}")
                artifact = artifacts.build_image(
                    self.env, service, builder=self.builder, reporter=self.reporter
                )
            else:
                assert service.image is not None
                self.reporter.step(name, "build", "start", f"resolve {service.image}")
                artifact = artifacts.resolve_image(service.image)
        elif Capability.BUILD in caps:
            self.reporter.step(name, "build", "start")
            artifact = self.provider.build(service)
        else:
            raise ConfigError(
                f"service {name!r} has nothing the {self.provider.name} provider can deploy",
                hint=f"give services.{name} an `image` (and a `build` table to build it)",
            )
        self.reporter.step(name, "build", "done", artifact.ref)
        return artifact

    def _check_deployable(self, artifact: Artifact) -> None:
        caps = self.provider.capabilities
        if artifact.kind == "image" and Capability.DEPLOY_IMAGE not in caps:
            raise UsageError(
                f"the {self.provider.name} provider cannot run an image ({artifact.ref})",
                hint="promote between environments whose providers run the same kind of artifact",
            )
        if artifact.kind == "bundle" and self.provider.name != "local":
            raise UsageError(
                f"a local release bundle cannot be deployed to {self.provider.name}",
                hint="give the service a [services.NAME.build] table and `image`, so every "
                "environment runs the same image",
            )

    def _log_tail(
        self, service: ServiceSpec, deployment: Deployment | None, *, build: bool
    ) -> tuple[list[str], str | None]:
        """The last log lines of a failed rollout; a broken log stream is only a warning."""
        if Capability.LOGS not in self.provider.capabilities:
            return [], None
        try:
            lines = self.provider.logs(
                service, lines=LOG_TAIL_LINES, build=build, deployment=deployment
            )
            return [line.message for line in lines][-LOG_TAIL_LINES:], None
        except Exception as error:  # logs are best effort once the outcome is known
            return [], f"{service.name}: could not read logs: {type(error).__name__}: {error}"


def _check_expected(built: Artifact, expected: Artifact | None) -> None:
    """Fail the rollout when a build differs from the artifact the shown plan promised."""
    if expected is None:
        return
    same = built.digest == expected.digest if built.digest and expected.digest else None
    if same is None:
        same = built.ref == expected.ref
    if not same:
        raise _StepFailed(
            "build",
            f"the build produced {built.ref} but the plan showed {expected.ref}: the source "
            "changed after the plan; nothing was deployed (run the deploy again to see a new plan)",
        )


def live_release(provider: Provider, service: ServiceSpec) -> Release | None:
    """The release serving now, if the provider knows one."""
    if Capability.RELEASES not in provider.capabilities:
        return None
    for release in provider.releases(service):
        if release.live:
            return release
    return None


def _applied_text(applied: EnvApplied) -> str:
    text = f"{len(applied.set)} set"
    if applied.unset:
        text += f", {len(applied.unset)} removed"
    return text


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


def push_env(
    env: Environment,
    provider: Provider,
    secrets: Mapping[str, Secret],
    reporter: Reporter | None = None,
    *,
    unset: Sequence[str] = (),
    services: Iterable[str] | None = None,
) -> DeployResult:
    """``shipit env push``: one set_env per service, then at most one redeploy of each."""
    engine = Engine(env, provider, secrets, reporter)
    return engine.push_env(select_services(env, services), unset=unset)
