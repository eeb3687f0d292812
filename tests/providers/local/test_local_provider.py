"""The local provider driven directly: real bundles, real processes, real ports."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shipit.config.overlay import ServiceSpec
from shipit.errors import ConfigError, DeployFailedError
from shipit.providers.base import Capability, Deployment, Provider
from shipit.providers.local import LocalProvider
from shipit.providers.local.process import group_alive
from shipit.providers.local.runfile import RunInfo
from shipit.providers.local.runner import shell_command
from shipit.providers.registry import provider_class
from shipit.sensitive import Secret

from .support import PYTHON, Project, deploy_live, free_base_port, get_json, refuses, wait_health


def occupy(sockets: list[socket.socket], port: int) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    sockets.append(sock)


def wait_for(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_registry_finds_the_adapter_and_it_satisfies_the_protocol(project: Project) -> None:
    assert provider_class("local") is LocalProvider
    provider = project.provider()
    assert isinstance(provider, Provider)
    assert Capability.PROMOTE in provider.capabilities
    assert Capability.DEPLOY_IMAGE not in provider.capabilities


def test_deploy_serves_the_app_and_health_reports_the_bundle(project: Project) -> None:
    provider, service = project.provider(), project.service()
    artifact = provider.build(service)
    deployment = provider.deploy(service, artifact, release_name="v0.1")
    assert deployment.url == f"http://127.0.0.1:{project.ports['local']}"
    assert deployment.extra["port"] == project.ports["local"]
    assert Path(deployment.extra["log"]).is_relative_to(project.state_dir / "local" / "local")

    result = wait_health(provider, service, deployment)
    assert result.state == "healthy"
    assert result.release == artifact.ref
    provider.settle(service, deployment, healthy=True)

    health = get_json(f"{deployment.url}/health")
    assert health == {"status": "ok", "release": artifact.ref, "database": "sqlite"}
    page = get_json(f"{deployment.url}/")
    assert page["environment"] == "local"
    assert page["debug"] == "true"
    assert page["secret_key_set"] is False

    status = provider.status(service)
    assert status.state == "running"
    assert status.healthy is True
    assert status.url == deployment.url
    assert status.release == artifact.ref
    assert status.release_name == "v0.1"
    assert status.extra["port"] == project.ports["local"]
    assert status.extra["uptime_seconds"] >= 0

    [release] = provider.releases(service)
    assert release.id == artifact.ref
    assert release.live
    assert release.state == "live"
    assert release.name == "v0.1"
    assert release.config_fingerprint == service.fingerprint()
    assert release.artifact.digest == artifact.digest


def test_second_deploy_goes_to_the_other_port_and_retires_the_old_only_when_healthy(
    project: Project,
) -> None:
    provider, service = project.provider(), project.service()
    first = provider.build(service)
    old = deploy_live(provider, service, first)

    project.change_source()
    second = provider.build(service)
    assert second.ref != first.ref
    new = provider.deploy(service, second)
    assert new.extra["port"] == project.ports["local"] + 1
    assert wait_health(provider, service, new).release == second.ref
    assert get_json(f"{old.url}/health")["release"] == first.ref  # still serving

    provider.settle(service, new, healthy=True)
    assert refuses(f"{old.url}/health")
    assert get_json(f"{new.url}/health")["release"] == second.ref
    assert provider.status(service).url == new.url
    releases = provider.releases(service)
    assert [(r.id, r.live, r.state) for r in releases] == [
        (second.ref, True, "live"),
        (first.ref, False, "stopped"),
    ]


def test_a_release_that_never_turns_healthy_leaves_the_old_one_serving(project: Project) -> None:
    provider, service = project.provider(), project.service()
    artifact = provider.build(service)
    old = deploy_live(provider, service, artifact)

    broken = dataclasses.replace(service, health_path="/nope")
    attempt = provider.deploy(broken, artifact)
    assert wait_for(lambda: provider.health(broken, attempt).status_code == 404)
    result = provider.health(broken, attempt)
    assert result.state == "pending"
    assert "HTTP 404" in result.detail
    provider.settle(broken, attempt, healthy=False)

    assert get_json(f"{old.url}/health")["release"] == artifact.ref
    assert wait_for(lambda: refuses(f"{attempt.url}/"))
    status = provider.status(service)
    assert (status.state, status.url) == ("running", old.url)
    latest, live = provider.releases(service)
    assert (latest.state, latest.live) == ("failed", False)
    assert (live.state, live.live) == ("live", True)
    lines = [line.message for line in provider.logs(service, deployment=attempt)]
    assert "GET /nope 404" in lines


def test_redeploy_runs_an_earlier_bundle_without_rebuilding(project: Project) -> None:
    provider, service = project.provider(), project.service()
    first = provider.build(service)
    deploy_live(provider, service, first, release_name="v1")
    project.change_source()
    deploy_live(provider, service, provider.build(service), release_name="v2")
    bundles = sorted(p.name for p in (project.state_dir / "bundles").iterdir())

    earlier = next(r for r in provider.releases(service) if r.name == "v1")
    again = provider.redeploy(service, earlier)
    assert wait_health(provider, service, again).release == first.ref
    provider.settle(service, again, healthy=True)

    assert get_json(f"{again.url}/health")["release"] == first.ref
    assert sorted(p.name for p in (project.state_dir / "bundles").iterdir()) == bundles
    ids = [r.id for r in provider.releases(service)]
    assert ids.count(first.ref) == 2
    assert provider.status(service).release_name == "v1"

    shutil.rmtree(project.state_dir / "bundles" / first.ref)
    with pytest.raises(DeployFailedError, match="no longer") as caught:
        provider.redeploy(service, earlier)
    assert caught.value.hint


def test_promote_to_another_local_environment_reuses_the_bundle(project: Project) -> None:
    local, service = project.provider("local"), project.service()
    artifact = local.build(service)
    deploy_live(local, service, artifact)
    bundles = sorted(p.name for p in (project.state_dir / "bundles").iterdir())

    preview = project.provider("preview")
    target = project.service(env="preview")
    promoted = deploy_live(preview, target, artifact, release_name="v0.1")
    assert promoted.extra["port"] == project.ports["preview"]
    assert get_json(f"{promoted.url}/health")["release"] == artifact.ref
    assert get_json(f"{promoted.url}/")["environment"] == "preview"
    assert sorted(p.name for p in (project.state_dir / "bundles").iterdir()) == bundles
    assert (project.state_dir / "local" / "preview" / "web.json").is_file()


def test_logs_give_last_lines_since_a_time_build_output_and_follow(project: Project) -> None:
    provider = project.provider()
    service = dataclasses.replace(
        project.service(), build_command="echo compiling assets; echo a warning >&2"
    )
    artifact = provider.build(service)
    deployment = deploy_live(provider, service, artifact)
    for _ in range(3):
        get_json(f"{deployment.url}/")

    everything = list(provider.logs(service))
    assert everything[0].stream == "deploy"
    assert any(line.message.startswith("listening on") for line in everything)
    assert {line.release for line in everything} == {artifact.ref}
    last_two = list(provider.logs(service, lines=2))
    assert [line.message for line in last_two] == ["GET / 200", "GET / 200"]
    assert last_two == everything[-2:]
    future = datetime.now(UTC) + timedelta(minutes=1)
    assert list(provider.logs(service, since=future)) == []
    middle = everything[len(everything) // 2].timestamp
    assert all(line.timestamp >= middle for line in provider.logs(service, since=middle))

    built = [line.message for line in provider.logs(service, build=True)]
    assert "compiling assets" in built
    assert "a warning" in built
    assert all(line.stream == "build" for line in provider.logs(service, build=True))

    def visit_later() -> None:
        time.sleep(0.3)
        get_json(f"{deployment.url}/?followed")

    visitor = threading.Thread(target=visit_later)
    visitor.start()
    following = provider.logs(service, follow=True, lines=0)
    try:
        assert next(following).message == "GET /?followed 200"
    finally:
        following.close()
        visitor.join()


def test_failed_build_raises_with_the_last_output_lines(project: Project) -> None:
    provider = project.provider()
    service = dataclasses.replace(
        project.service(), build_command="echo step one; echo it broke >&2; exit 7"
    )
    with pytest.raises(DeployFailedError, match="exited with code 7") as caught:
        provider.build(service)
    assert "it broke" in caught.value.log_tail
    assert "--build" in (caught.value.hint or "")
    bundles = project.state_dir / "bundles"
    assert not [p for p in bundles.iterdir() if p.is_dir()]
    built = [line.message for line in provider.logs(service, build=True)]
    assert "it broke" in built


def test_a_process_that_exits_fails_its_health_check(project: Project) -> None:
    provider = project.provider()
    service = dataclasses.replace(project.service(), start="echo cannot start; exit 3")
    deployment = provider.deploy(service, provider.build(service))
    result = wait_health(provider, service, deployment)
    assert result.state == "failed"
    assert "exited with code 3" in result.detail
    assert "stdout: cannot start" in result.extra["log_tail"]
    provider.settle(service, deployment, healthy=False)
    assert provider.releases(service)[0].state == "failed"
    assert provider.status(service).state == "stopped"


def test_status_notices_a_process_that_was_killed(project: Project) -> None:
    provider, service = project.provider(), project.service()
    deploy_live(provider, service, provider.build(service))
    record = provider._store.load(service.name).current
    assert record is not None
    info = RunInfo.read(Path(record.run_file))
    assert info is not None
    assert info.child_pid is not None
    shell = Path(f"/proc/{info.child_pid}/task/{info.child_pid}/children").read_text().split()
    app = int(shell[0]) if shell else info.child_pid  # the shell may have exec'd the app
    os.kill(app, signal.SIGKILL)

    assert wait_for(lambda: provider.status(service).state == "crashed")
    status = provider.status(service)
    assert status.extra["exit_code"] in (128 + signal.SIGKILL, -signal.SIGKILL)
    assert status.healthy is False
    assert status.release == record.release
    assert provider.get_env(service) is None
    provider.stop(service)
    assert provider.status(service).state == "stopped"


def test_sigterm_to_the_runner_alone_reaches_the_app(project: Project) -> None:
    provider, service = project.provider(), project.service()
    deployment = deploy_live(provider, service, provider.build(service))
    os.kill(deployment.extra["pid"], signal.SIGTERM)
    assert wait_for(lambda: not group_alive(deployment.extra["pid"]))
    assert refuses(f"{deployment.url}/health")
    messages = [line.message for line in provider.logs(service)]
    assert "received signal 15, shutting down" in messages
    assert provider.status(service).state == "crashed"


def test_stop_ends_the_process_group_and_marks_the_release_stopped(project: Project) -> None:
    provider, service = project.provider(), project.service()
    deployment = deploy_live(provider, service, provider.build(service))
    pid = deployment.extra["pid"]
    provider.stop(service)
    assert refuses(f"{deployment.url}/health")
    assert not group_alive(pid)
    status = provider.status(service)
    assert status.state == "stopped"
    assert status.url is None
    [release] = provider.releases(service)
    assert (release.live, release.state) == (False, "stopped")
    assert provider.get_env(service) is None
    lines = [line.message for line in provider.logs(service)]
    assert lines[-3:] == ["received signal 15, shutting down", "stopped", "exited with code 0"]


def test_an_app_left_behind_by_a_dead_runner_is_still_stopped(project: Project) -> None:
    provider, service = project.provider(), project.service()
    deployment = deploy_live(provider, service, provider.build(service))
    runner = deployment.extra["pid"]
    os.kill(runner, signal.SIGKILL)  # the app lives on, in the runner's process group
    assert wait_for(lambda: provider.status(service).state == "crashed")
    assert not refuses(f"{deployment.url}/health")
    provider.stop(service)
    assert refuses(f"{deployment.url}/health")
    assert not group_alive(runner)


def test_a_recycled_pid_is_never_signalled(project: Project) -> None:
    provider, service = project.provider(), project.service()
    deploy_live(provider, service, provider.build(service))
    provider.stop(service)
    with subprocess.Popen(["sleep", "30"], start_new_session=True) as stranger:
        try:
            state = provider._store.load(service.name)
            assert state.current is not None
            state.current.pid = stranger.pid  # as if the old pid now led another program
            state.current.stopped_at = None
            provider._store.save(state)
            assert provider.status(service).state == "crashed"
            provider.stop(service)
            assert stranger.poll() is None
        finally:
            stranger.kill()


def test_a_start_command_with_shell_syntax_is_stopped_whole(project: Project) -> None:
    provider = project.provider()
    service = dataclasses.replace(
        project.service(), start=f"echo starting && {PYTHON} app.py --unused-flag"
    )
    deployment = deploy_live(provider, service, provider.build(service))
    provider.stop(service)
    assert refuses(f"{deployment.url}/health")
    assert not group_alive(deployment.extra["pid"])
    assert "starting" in [line.message for line in provider.logs(service)]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("python3 app.py", "exec python3 app.py"),
        ("gunicorn app:app -b 0.0.0.0:8000", "exec gunicorn app:app -b 0.0.0.0:8000"),
        ("cd web && python app.py", "cd web && python app.py"),
        ("PORT=1 python app.py", "PORT=1 python app.py"),
        ("python app.py --port $PORT", "python app.py --port $PORT"),
        ("exit 3", "exit 3"),
    ],
)
def test_plain_commands_are_execd_so_the_app_is_the_child(command: str, expected: str) -> None:
    assert shell_command(command) == expected


def test_a_secret_reaches_the_process_and_no_file(project: Project) -> None:
    provider, service = project.provider(), project.service()
    value = "s3cret-value-6f1c2a9d"
    applied = provider.set_env(service, {"SECRET_KEY": Secret(value), "LOG_LEVEL": "debug"})
    assert applied.set == ("LOG_LEVEL", "SECRET_KEY")
    deployment = deploy_live(provider, service, provider.build(service))
    assert get_json(f"{deployment.url}/")["secret_key_set"] is True

    env = provider.get_env(service)
    assert env is not None
    assert isinstance(env["SECRET_KEY"], Secret)
    assert env["SECRET_KEY"].reveal() == value
    assert env["LOG_LEVEL"] == "debug"
    assert env["DEBUG"] == "true"
    assert env["PORT"] == str(project.ports["local"])
    assert env["SHIPIT_RELEASE"] == deployment.artifact.ref
    assert env["SHIPIT_ENVIRONMENT"] == "local"
    assert "PATH" not in env
    assert "HOME" not in env

    for path in project.state_dir.rglob("*"):
        if path.is_file():
            assert value.encode() not in path.read_bytes(), path
    cmdline = Path(f"/proc/{deployment.extra['pid']}/cmdline").read_bytes()
    assert value.encode() not in cmdline


def test_environment_excludes_shipit_and_token_variables(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPIT_DEBUG", "1")
    monkeypatch.setenv("RAILWAY_API_TOKEN", "token-value")
    monkeypatch.setenv("MACHINE_VARIABLE", "kept")
    provider, service = project.provider(), project.service()
    provider.set_env(service, {"DEBUG": "false"}, unset=["SECRET_KEY"])
    deployment = deploy_live(provider, service, provider.build(service))
    environ = Path(f"/proc/{deployment.extra['pid']}/environ").read_bytes().split(b"\0")
    assert b"MACHINE_VARIABLE=kept" in environ
    assert not [item for item in environ if item.startswith((b"SHIPIT_DEBUG=", b"RAILWAY_"))]
    env = provider.get_env(service)
    assert env is not None
    assert env["DEBUG"] == "false"
    assert "MACHINE_VARIABLE" not in env


def test_sqlite_is_linked_by_default_and_a_given_url_wins(project: Project) -> None:
    provider, service = project.provider(), project.service()
    link = provider.link_db(service)
    path = project.state_dir / "local" / "local" / "web.sqlite3"
    assert (link.kind, link.variable, link.created, link.written) == (
        "sqlite",
        "DATABASE_URL",
        True,
        True,
    )
    assert path.is_file()
    assert provider.link_db(service).created is False
    deployment = deploy_live(provider, service, provider.build(service))
    env = provider.get_env(service)
    assert env is not None
    assert env["DATABASE_URL"] == f"sqlite:///{path.resolve()}"
    assert [get_json(f"{deployment.url}/")["visits"] for _ in range(2)] == [1, 2]

    postgres = dataclasses.replace(service, database="postgres")
    fallback = provider.link_db(postgres)
    assert fallback.kind == "sqlite"
    assert "Postgres" in fallback.description

    provider.set_env(service, {"DATABASE_URL": "postgres://db.internal/app"})
    given = provider.link_db(service)
    assert (given.created, given.written) == (False, False)


def test_a_foreign_program_on_the_other_port_means_stopping_first(
    project: Project, listener: list[socket.socket]
) -> None:
    provider, service = project.provider(), project.service()
    base = project.ports["local"]
    first = provider.build(service)
    deploy_live(provider, service, first)
    occupy(listener, base + 1)

    project.change_source()
    second = provider.build(service)
    broken = dataclasses.replace(service, health_path="/nope")
    attempt = provider.deploy(broken, second)
    assert attempt.extra["port"] == base
    assert "down until the new release is healthy" in attempt.extra["warning"]
    assert wait_for(lambda: provider.health(broken, attempt).status_code == 404)
    provider.settle(broken, attempt, healthy=False)
    assert wait_for(lambda: not refuses(f"http://127.0.0.1:{base}/health"))
    assert get_json(f"http://127.0.0.1:{base}/health")["release"] == first.ref

    replaced = deploy_live(provider, service, second)
    assert "warning" in replaced.extra
    assert get_json(f"{replaced.url}/health")["release"] == second.ref

    provider.stop(service)
    occupy(listener, base)
    with pytest.raises(DeployFailedError, match="no free port") as caught:
        provider.deploy(service, second)
    assert "[environments.local.local]" in (caught.value.hint or "")


def test_services_deploy_concurrently_each_on_its_own_pair_of_ports(project: Project) -> None:
    base = free_base_port(4)
    config = project.root / "shipit.toml"
    text = config.read_text().replace(f"port = {project.ports['local']}", f"port = {base}")
    worker = f"[services.worker]\nsource = \"app\"\nstart = '{PYTHON} app.py'\n\n"
    config.write_text(
        text.replace("[environments.local.local]", worker + "[environments.local.local]")
    )
    provider = project.provider()
    services = list(project.environment().services.values())

    def roll_out(service: ServiceSpec) -> Deployment:
        return deploy_live(provider, service, provider.build(service))

    with ThreadPoolExecutor(max_workers=2) as pool:
        web, worker_deployment = pool.map(roll_out, services)
    assert (web.extra["port"], worker_deployment.extra["port"]) == (base, base + 2)
    assert web.artifact.ref == worker_deployment.artifact.ref  # same source: one bundle
    assert get_json(f"{web.url}/")["visits"] == 1  # web has a database
    assert get_json(f"{worker_deployment.url}/")["visits"] is None
    assert {p.name for p in (project.state_dir / "local" / "local").glob("*.json")} == {
        "web.json",
        "worker.json",
    }


def test_image_only_service_needs_start(project: Project) -> None:
    provider = project.provider()
    service = dataclasses.replace(project.service(), start=None, image="ghcr.io/acme/web:1")
    with pytest.raises(ConfigError, match="needs `start` for service 'web'"):
        provider.build(service)


def test_nothing_deployed_yet(project: Project) -> None:
    provider, service = project.provider(), project.service()
    assert provider.get_env(service) is None
    assert provider.releases(service) == []
    assert list(provider.logs(service)) == []
    assert provider.status(service).state == "stopped"
    provider.stop(service)
