"""The engine with an in-memory provider: concurrency, the health gate, settle, exit codes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from tests.fakes.memory_provider import MemoryProvider, Script, environment

from shipit.core.engine import Engine
from shipit.core.health import wait_healthy
from shipit.errors import AuthError, DeployFailedError, ExitCode, ProviderAPIError, UsageError
from shipit.providers.base import Artifact, Deployment
from shipit.sensitive import Secret

SECRETS = {"SECRET_KEY": Secret("engine-test-secret-0001")}


def make_engine(tmp_path: Path, provider: MemoryProvider, *, timeout: float = 5) -> Engine:
    env = environment(tmp_path, timeout=timeout)
    return Engine(env, provider, SECRETS, sleep=lambda _: None)


def services(engine: Engine) -> list:
    return list(engine.env.services.values())


def test_services_roll_out_concurrently(tmp_path: Path) -> None:
    both_deployed = threading.Barrier(2, timeout=5)

    class Gated(MemoryProvider):
        def health(self, service, deployment):  # type: ignore[no-untyped-def]
            both_deployed.wait()  # fails with BrokenBarrierError if rollouts ran one by one
            return super().health(service, deployment)

    provider = Gated()
    engine = make_engine(tmp_path, provider)
    result = engine.deploy(services(engine))
    assert result.ok
    assert provider.peak == 2


def test_pending_then_healthy_goes_live_and_settles_healthy(tmp_path: Path) -> None:
    provider = MemoryProvider(scripts={"web": Script(health=("pending", "pending", "healthy"))})
    engine = make_engine(tmp_path, provider)
    result = engine.deploy(services(engine))
    assert result.ok
    web = result.services[0]
    assert web.ok
    assert web.health is not None
    assert web.health.state == "healthy"
    assert provider.calls.count(("health", "web")) == 3
    assert provider.settled == {"web": True, "worker": True}
    result.raise_for_failure()  # no error: exit 0


def test_order_of_steps_and_nothing_is_live_before_the_gate(tmp_path: Path) -> None:
    provider = MemoryProvider()
    engine = make_engine(tmp_path, provider)
    engine.deploy([engine.env.services["web"]])
    steps = [op for op, svc in provider.calls if svc == "web"]
    assert steps == ["build", "set_env", "deploy", "health", "settle"]
    assert provider.env["web"]["SECRET_KEY"] == SECRETS["SECRET_KEY"]


def test_failed_health_fails_fast_settles_unhealthy_and_exits_5(tmp_path: Path) -> None:
    provider = MemoryProvider(
        scripts={"web": Script(health=("pending", "failed"), log_lines=("boom", "Traceback"))}
    )
    engine = make_engine(tmp_path, provider, timeout=3600)
    started = time.monotonic()
    result = engine.deploy(services(engine))
    assert time.monotonic() - started < 5  # did not wait for the 3600 s deadline
    assert not result.ok
    web = next(o for o in result.services if o.service == "web")
    assert not web.ok
    assert web.step == "health"
    assert web.log_tail == ("boom", "Traceback")
    assert provider.calls.count(("health", "web")) == 2
    assert provider.settled["web"] is False
    assert provider.settled["worker"] is True
    with pytest.raises(DeployFailedError) as failed:
        result.raise_for_failure()
    assert failed.value.exit_code == ExitCode.DEPLOY == 5
    assert "web (health" in str(failed.value)
    assert "web | boom" in failed.value.log_tail


def test_deadline_turns_pending_into_failed(tmp_path: Path) -> None:
    provider = MemoryProvider(scripts={"web": Script(health=("pending",))})
    now = [0.0]

    def clock() -> float:
        return now[0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    spec = environment(tmp_path).services["web"]
    deployment = Deployment("d", "web", Artifact("bundle", "x"))
    outcome = wait_healthy(provider, spec, deployment, timeout=10, clock=clock, sleep=sleep)
    assert outcome.state == "failed"
    assert "not healthy after 10s" in outcome.detail
    assert now[0] == pytest.approx(10)
    probes = provider.calls.count(("health", "web"))
    assert 4 < probes < 20  # a growing sleep, not a busy loop


def test_deadline_in_the_engine_settles_unhealthy(tmp_path: Path) -> None:
    provider = MemoryProvider(scripts={"web": Script(health=("pending",), health_delay=0.02)})
    env = environment(tmp_path, timeout=0.1)
    engine = Engine(env, provider, SECRETS)
    result = engine.deploy([env.services["web"]])
    assert not result.ok
    assert "not healthy after 0.1s" in (result.services[0].error or "")
    assert provider.settled == {"web": False}


def test_logs_failing_after_a_healthy_deploy_do_not_fail_it(tmp_path: Path) -> None:
    provider = MemoryProvider(
        scripts={"web": Script(logs_error=ProviderAPIError("memory", "log stream broke"))}
    )
    engine = make_engine(tmp_path, provider)
    result = engine.deploy(services(engine))
    assert result.ok
    result.raise_for_failure()  # exit 0


def test_logs_failing_after_a_failed_deploy_keep_exit_5_with_a_warning(tmp_path: Path) -> None:
    provider = MemoryProvider(
        scripts={
            "web": Script(
                health=("failed",), logs_error=ProviderAPIError("memory", "log stream broke")
            )
        }
    )
    engine = make_engine(tmp_path, provider)
    result = engine.deploy(services(engine))
    web = result.services[0]
    assert not web.ok
    assert web.log_tail == ()
    assert any("could not read logs" in w and "log stream broke" in w for w in web.warnings)
    with pytest.raises(DeployFailedError) as failed:
        result.raise_for_failure()
    assert failed.value.exit_code == 5


def test_a_build_that_differs_from_the_plan_deploys_nothing(tmp_path: Path) -> None:
    provider = MemoryProvider(build_result={"web": Artifact("source", "web-v2")})
    engine = make_engine(tmp_path, provider)
    result = engine.deploy(
        [engine.env.services["web"]], expected={"web": Artifact("source", "web-v1")}
    )
    assert not result.ok
    assert result.services[0].step == "build"
    assert "plan showed web-v1" in (result.services[0].error or "")
    assert ("set_env", "web") not in provider.calls
    assert ("deploy", "web") not in provider.calls


def test_given_artifacts_are_deployed_without_building(tmp_path: Path) -> None:
    provider = MemoryProvider()
    engine = make_engine(tmp_path, provider)
    image = Artifact("source", "promoted-1")
    result = engine.deploy([engine.env.services["web"]], artifacts={"web": image})
    assert result.ok
    assert ("build", "web") not in provider.calls
    assert result.services[0].release == "promoted-1"


def test_missing_secret_is_a_usage_error_before_any_deploy(tmp_path: Path) -> None:
    provider = MemoryProvider()
    env = environment(tmp_path)
    engine = Engine(env, provider, {}, sleep=lambda _: None)
    with pytest.raises(UsageError) as error:
        engine.deploy([env.services["web"]])
    assert error.value.exit_code == 2
    assert ("deploy", "web") not in provider.calls


def test_provider_api_errors_while_probing_leave_the_verdict_to_the_deadline(
    tmp_path: Path,
) -> None:
    provider = MemoryProvider(
        scripts={"web": Script(health_error=ProviderAPIError("memory", "timed out", status=504))}
    )
    env = environment(tmp_path, timeout=0.2)
    engine = Engine(env, provider, SECRETS)
    result = engine.deploy([env.services["web"]])
    web = result.services[0]
    assert not web.ok
    assert "not healthy after 0.2s" in (web.error or "")
    assert "timed out" in (web.error or "")
    assert provider.settled == {"web": False}
    with pytest.raises(DeployFailedError):
        result.raise_for_failure()


def test_a_transient_probe_error_then_healthy_passes(tmp_path: Path) -> None:
    class Flaky(MemoryProvider):
        failed_once = False

        def health(self, service, deployment):  # type: ignore[no-untyped-def]
            if not self.failed_once:
                self.failed_once = True
                raise ProviderAPIError("memory", "HTTP 502", status=502)
            return super().health(service, deployment)

    provider = Flaky()
    engine = make_engine(tmp_path, provider)
    assert engine.deploy([engine.env.services["web"]]).ok


def test_an_auth_error_mid_deploy_keeps_exit_3_and_settles_unhealthy(tmp_path: Path) -> None:
    provider = MemoryProvider(scripts={"web": Script(health_error=AuthError("token expired"))})
    engine = make_engine(tmp_path, provider)
    with pytest.raises(AuthError) as error:
        engine.deploy([engine.env.services["web"]])
    assert error.value.exit_code == 3
    assert provider.settled == {"web": False}
