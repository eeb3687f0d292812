"""The installed CLI against the OpenAPI-checking fake Render, via SHIPIT_RENDER_API_URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.fakes.render import OWNER_ID, FakeDeploy, RenderState, render_server, seeded_state
from tests.fakes.server import FakeServer
from tests.helpers import run_shipit, run_standalone_fake

pytestmark = pytest.mark.e2e

TOKEN = "rnd_e2e_key_7c1d"
DIGEST_A = "sha256:" + "a1" * 32
DIGEST_B = "sha256:" + "b2" * 32
IMAGE_A = f"ghcr.io/example/web@{DIGEST_A}"
IMAGE_B = f"ghcr.io/example/web@{DIGEST_B}"

CONFIG = """
[project]
name = "shop"
pipeline = ["staging", "production"]

[services.web]
image = "{image}"
health_path = "/health"
health_timeout = 30
{database}
env = {{ {env} }}

[environments.staging]
provider = "render"

[environments.staging.render]
owner = "{owner}"
name_prefix = "staging-"

[environments.production]
provider = "render"

[environments.production.render]
owner = "Acme"
name_prefix = "prod-"
"""


class Render:
    """The running fake, its state and the project that deploys to it."""

    def __init__(self, server: FakeServer, state: RenderState, root: Path) -> None:
        self.server = server
        self.state = state
        self.root = root
        self.write_config(IMAGE_A)

    def write_config(
        self, image: str, env: dict[str, str] | None = None, *, database: bool = False
    ) -> None:
        pairs = ", ".join(f'{k} = "{v}"' for k, v in (env or {"LOG_LEVEL": "info"}).items())
        text = CONFIG.format(
            image=image,
            env=pairs,
            owner=OWNER_ID,
            database='database = "postgres"' if database else "",
        )
        (self.root / "shipit.toml").write_text(text)

    def run(self, *args: str, timeout: float = 60):
        environment = {
            "SHIPIT_RENDER_API_URL": f"{self.server.url}/v1",
            "SHIPIT_RENDER_SERVICE_URL_TEMPLATE": f"{self.server.url}/apps/{{slug}}",
            "RENDER_API_KEY": TOKEN,
        }
        return run_shipit(*args, cwd=self.root, env=environment, timeout=timeout)

    def service_id(self, environment: str) -> str:
        prefix = "staging-" if environment == "staging" else "prod-"
        return str(self.state.find_service(prefix + "web")["id"])

    def live(self, environment: str) -> FakeDeploy | None:
        return self.state.live(self.service_id(environment))

    def deploys(self, environment: str) -> list[FakeDeploy]:
        return self.state.deploys_of(self.service_id(environment))

    def deploy_requests(self) -> int:
        """Requests that start a deploy: service creates, deploy creates, rollbacks, resumes."""
        starts = 0
        for entry in self.server.journal:
            path, method = entry.request.path, entry.request.method
            if method == "POST" and (
                path == "/v1/services" or path.endswith(("/deploys", "/rollback", "/resume"))
            ):
                starts += 1
        return starts


@pytest.fixture
def render(tmp_path: Path) -> Iterator[Render]:
    with render_server(seeded_state(TOKEN)) as (server, state):
        yield Render(server, state, tmp_path)
        assert state.invalid == [], "a request did not validate against Render's OpenAPI spec"
        bulk = [
            e
            for e in server.journal
            if e.request.method == "PUT" and e.request.path.endswith("/env-vars")
        ]
        assert bulk == [], "the replace-all variables endpoint was used"


def test_deploy_creates_the_service_with_one_deploy_of_the_pinned_image(render: Render) -> None:
    render.write_config(IMAGE_A, {"LOG_LEVEL": "info"}, database=True)

    result = render.run("deploy", "staging", "--json")

    assert result.code == 0, result
    document = result.json()
    assert document["ok"] is True
    assert document["services"][0]["digest"] == DIGEST_A
    assert render.deploy_requests() == 1
    (deploy,) = render.deploys("staging")
    assert (deploy.status, deploy.image_ref, deploy.sha) == ("live", IMAGE_A, DIGEST_A)
    service = render.state.find_service("staging-web")
    assert service["autoDeploy"] == "no"
    assert service["serviceDetails"]["healthCheckPath"] == "/health"
    assert deploy.env["LOG_LEVEL"] == "info"
    (database,) = render.state.postgres.values()
    assert database["name"] == "staging-shop-db"
    url = render.state.connection[database["id"]]["internalConnectionString"]
    assert deploy.env["DATABASE_URL"] == url, "the first boot must see DATABASE_URL"
    assert url not in result.output
    headers = [e.request.headers for e in render.server.journal.entries(path="/v1/")]
    assert all(h["authorization"] == f"Bearer {TOKEN}" for h in headers)

    status = render.run("status", "staging", "--json")
    assert status.code == 0, status
    row = status.json()["services"][0]
    assert (row["state"], row["healthy"], row["release"]) == ("running", True, IMAGE_A)


def test_a_failed_deploy_exits_5_with_its_last_log_lines_and_the_old_one_keeps_serving(
    render: Render,
) -> None:
    assert render.run("deploy", "staging").code == 0
    first = render.live("staging")
    render.write_config(IMAGE_B)
    render.state.fail_next.append("update_failed")

    result = render.run("deploy", "staging")

    assert result.code == 5, result
    assert "update_failed" in result.stderr
    assert "RuntimeError: boom" in result.stderr
    assert "Exited with status 1" in result.stderr
    assert f"Pulling image {IMAGE_B}" in result.stderr
    assert f"Pulling image {IMAGE_A}" not in result.stderr, "a line of the earlier deploy"
    assert render.live("staging") is first
    assert first is not None and first.image_ref == IMAGE_A


def test_env_push_keeps_variables_it_was_not_told_to_remove(render: Render) -> None:
    assert render.run("deploy", "staging").code == 0
    service_id = render.service_id("staging")
    render.state.env[service_id]["SET_IN_DASHBOARD"] = "keep-me"
    render.write_config(IMAGE_A, {"LOG_LEVEL": "debug", "FEATURE": "on"})
    render.server.journal.clear()

    result = render.run("env", "push", "staging")

    assert result.code == 0, result
    stored = render.state.env[service_id]
    assert stored["SET_IN_DASHBOARD"] == "keep-me"
    assert (stored["LOG_LEVEL"], stored["FEATURE"]) == ("debug", "on")
    puts = render.server.journal.entries(method="PUT")
    assert sorted(e.request.path.rsplit("/", 1)[1] for e in puts) == ["FEATURE", "LOG_LEVEL"]
    assert render.deploy_requests() == 1  # one redeploy picks the variables up
    live = render.live("staging")
    assert live is not None and live.image_ref == IMAGE_A
    assert live.env["FEATURE"] == "on" and live.env["SET_IN_DASHBOARD"] == "keep-me"


def test_logs_show_app_and_build_lines(render: Render) -> None:
    assert render.run("deploy", "staging").code == 0

    runtime = render.run("logs", "staging")
    build = render.run("logs", "staging", "--build")

    assert runtime.code == 0, runtime
    assert "listening on 0.0.0.0:10000" in runtime.stdout
    assert "Pulling image" not in runtime.stdout
    assert build.code == 0, build
    assert f"Pulling image {IMAGE_A}" in build.stdout


def test_promote_moves_the_identical_digest_to_production(render: Render) -> None:
    assert render.run("deploy", "staging").code == 0
    render.write_config(IMAGE_B)  # promote must take staging's image, not the config's

    result = render.run("promote", "--tag", "v1", "--from", "staging", "--to", "production")

    assert result.code == 0, result
    staging, production = render.live("staging"), render.live("production")
    assert staging is not None and production is not None
    assert production.sha == staging.sha == DIGEST_A
    assert production.image_ref == IMAGE_A
    releases = render.run("releases", "production", "--json")
    assert releases.code == 0, releases
    (row,) = releases.json()["releases"]
    assert (row["name"], row["artifact"], row["live"]) == ("v1", IMAGE_A, True)


def test_rollback_goes_back_to_the_previous_image(render: Render) -> None:
    assert render.run("deploy", "staging").code == 0
    render.write_config(IMAGE_B)
    assert render.run("deploy", "staging").code == 0
    render.server.journal.clear()

    result = render.run("rollback", "staging")

    assert result.code == 0, result
    live = render.live("staging")
    assert live is not None and (live.sha, live.trigger) == (DIGEST_A, "rollback")
    assert [d.sha for d in render.deploys("staging")] == [DIGEST_A, DIGEST_B, DIGEST_A]
    assert render.deploy_requests() == 1


def test_rate_limited_reads_are_retried_but_a_rate_limited_deploy_is_not(render: Render) -> None:
    faults = render.server.faults
    faults.add(status=429, headers={"Retry-After": "0"}, times=2, path="/v1/services")
    assert render.run("deploy", "staging").code == 0
    render.server.journal.clear()
    service_id = render.service_id("staging")
    faults.add(
        status=429,
        headers={"Retry-After": "0"},
        body={"message": "rate limit exceeded"},
        match=lambda r: r.method == "POST" and r.path.endswith("/deploys"),
    )
    render.write_config(IMAGE_B)

    result = render.run("deploy", "staging")

    assert result.code == 4, result
    assert "429" in result.stderr
    assert (
        render.server.journal.count(path=f"/v1/services/{service_id}/deploys", method="POST") == 1
    )


def test_a_refused_key_exits_3_naming_the_variable(render: Render) -> None:
    render.state.tokens.clear()
    result = render.run("deploy", "staging")
    assert result.code == 3, result
    assert "RENDER_API_KEY" in result.stderr
    assert TOKEN not in result.output


@pytest.fixture
def standalone_fake() -> Iterator[str]:
    with run_standalone_fake("tests.fakes.render", TOKEN) as url:
        yield url


def test_the_fake_runs_standalone_for_the_cli(standalone_fake: str, tmp_path: Path) -> None:
    config = CONFIG.format(image=IMAGE_A, env='A = "1"', owner="Acme", database="")
    (tmp_path / "shipit.toml").write_text(config)
    environment = {
        "SHIPIT_RENDER_API_URL": f"{standalone_fake}/v1",
        "SHIPIT_RENDER_SERVICE_URL_TEMPLATE": f"{standalone_fake}/apps/{{slug}}",
        "RENDER_API_KEY": TOKEN,
    }

    deployed = run_shipit("deploy", "staging", cwd=tmp_path, env=environment)

    assert deployed.code == 0, deployed
    state = httpx.get(f"{standalone_fake}/_fake/state", timeout=5).json()
    assert state["invalid"] == []
    assert [d["image"]["ref"] for d in state["deploys"]] == [IMAGE_A]
