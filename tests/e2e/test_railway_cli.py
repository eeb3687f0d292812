"""The installed CLI against the schema-checking fake Railway, via SHIPIT_RAILWAY_API_URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fakes.railway import RailwayState, railway_server, seeded_state
from tests.fakes.server import FakeServer
from tests.helpers import run_shipit, run_standalone_fake

pytestmark = pytest.mark.e2e

TOKEN = "railway-e2e-token-5f1c"
IMAGE_A = "ghcr.io/example/web@sha256:" + "a1" * 32
IMAGE_B = "ghcr.io/example/web@sha256:" + "b2" * 32

CONFIG = """
[project]
name = "shop"
pipeline = ["staging", "staging2"]

[services.web]
image = "{image}"
health_path = "/health"
health_timeout = 30
env = {{ {env} }}

[environments.staging]
provider = "railway"

[environments.staging.railway]
project = "shop"
environment = "staging"

[environments.staging2]
provider = "railway"

[environments.staging2.railway]
project = "shop"
environment = "staging2"
"""


class Railway:
    """The running fake, its state and the project that deploys to it."""

    def __init__(self, server: FakeServer, state: RailwayState, root: Path) -> None:
        self.server = server
        self.state = state
        self.root = root
        self.write_config(IMAGE_A)

    def write_config(self, image: str, env: dict[str, str] | None = None) -> None:
        pairs = ", ".join(f'{k} = "{v}"' for k, v in (env or {"LOG_LEVEL": "info"}).items())
        (self.root / "shipit.toml").write_text(CONFIG.format(image=image, env=pairs))

    def run(self, *args: str, timeout: float = 60):
        environment = {"SHIPIT_RAILWAY_API_URL": self.server.url, "RAILWAY_API_TOKEN": TOKEN}
        return run_shipit(*args, cwd=self.root, env=environment, timeout=timeout)

    def ids(self, environment: str) -> tuple[str, str]:
        return self.state.find("environment", environment), self.state.find("service", "web")

    def live_image(self, environment: str) -> str | None:
        live = self.state.live(*self.ids(environment))
        return live.image if live else None

    def deployments(self, environment: str):
        return self.state.deployments_of(*self.ids(environment))


@pytest.fixture
def railway(tmp_path: Path) -> Iterator[Railway]:
    with railway_server(seeded_state(TOKEN)) as (server, state):
        yield Railway(server, state, tmp_path)
        assert state.invalid == [], "a request did not validate against Railway's schema"
        assert state.nulls == [], "a request sent an explicit null (it clears fields on Railway)"


def test_deploy_staging_points_the_service_at_the_image_and_deploys_once(railway: Railway) -> None:
    result = railway.run("deploy", "staging", "--json")
    assert result.code == 0, result
    document = result.json()
    assert document["ok"] is True
    assert document["services"][0]["digest"] == "sha256:" + "a1" * 32
    assert railway.server.journal.count(operation="ShipitServiceInstanceDeploy") == 1
    assert [d.status for d in railway.deployments("staging")] == ["SUCCESS"]
    assert railway.live_image("staging") == IMAGE_A
    environment_id, service_id = railway.ids("staging")
    instance = railway.state.instances[(environment_id, service_id)]
    assert instance["settings"]["healthcheckPath"] == "/health"
    assert railway.state.variables[(environment_id, service_id)]["LOG_LEVEL"] == "info"
    sent = [e.request.headers for e in railway.server.journal.entries(path="/graphql/v2")]
    assert all(h["authorization"] == f"Bearer {TOKEN}" for h in sent)
    assert all(h["user-agent"].startswith("shipit/") for h in sent)

    status = railway.run("status", "staging", "--json")
    assert status.code == 0, status
    service = status.json()["services"][0]
    assert service["state"] == "running"
    assert service["healthy"] is True
    assert service["release"] == IMAGE_A


def test_a_failed_deployment_exits_5_with_its_build_log_and_the_old_one_keeps_serving(
    railway: Railway,
) -> None:
    assert railway.run("deploy", "staging").code == 0
    first = railway.state.live(*railway.ids("staging"))
    railway.write_config(IMAGE_B)
    railway.state.fail_next.append("FAILED")

    result = railway.run("deploy", "staging")

    assert result.code == 5, result
    assert "failed to pull image: manifest unknown" in result.stderr
    assert "Build failed" in result.stderr
    assert railway.state.live(*railway.ids("staging")) is first
    assert railway.live_image("staging") == IMAGE_A
    instance = railway.state.instances[railway.ids("staging")]
    assert instance["source"]["image"] == IMAGE_A, "the service still points at the failed image"


def test_env_push_sends_30_variables_in_one_mutation(railway: Railway) -> None:
    assert railway.run("deploy", "staging").code == 0
    variables = {f"SETTING_{n:02d}": f"value-{n}" for n in range(30)}
    railway.write_config(IMAGE_A, variables)
    railway.server.journal.clear()

    result = railway.run("env", "push", "staging")

    assert result.code == 0, result
    upserts = railway.server.journal.entries(operation="ShipitVariableCollectionUpsert")
    assert len(upserts) == 1
    sent = upserts[0].request.variables["input"]
    assert set(variables) <= set(sent["variables"])
    assert sent["skipDeploys"] is True
    assert railway.server.journal.count(operation="ShipitVariableDelete") == 0
    # one redeploy of the live image picks the variables up
    assert railway.server.journal.count(operation="ShipitServiceInstanceDeploy") == 1
    environment_id, service_id = railway.ids("staging")
    stored = railway.state.variables[(environment_id, service_id)]
    assert {k: stored[k] for k in variables} == variables
    assert railway.live_image("staging") == IMAGE_A


def test_logs_show_runtime_and_build_lines(railway: Railway) -> None:
    assert railway.run("deploy", "staging").code == 0

    runtime = railway.run("logs", "staging")
    build = railway.run("logs", "staging", "--build")

    assert runtime.code == 0, runtime
    assert "listening on 0.0.0.0:8000" in runtime.stdout
    assert build.code == 0, build
    assert f"Pulling image {IMAGE_A}" in build.stdout


def test_promote_moves_the_identical_image_to_a_second_environment(railway: Railway) -> None:
    assert railway.run("deploy", "staging").code == 0
    railway.write_config(IMAGE_B)  # promote must not take the config's image, but staging's

    result = railway.run("promote", "--tag", "v1", "--from", "staging", "--to", "staging2")

    assert result.code == 0, result
    assert railway.live_image("staging2") == IMAGE_A == railway.live_image("staging")
    releases = railway.run("releases", "staging2", "--json")
    assert releases.code == 0, releases
    (row,) = releases.json()["releases"]
    assert row["name"] == "v1"
    assert row["artifact"] == IMAGE_A
    assert row["live"] is True


def test_promote_and_rollback_work_when_railway_does_not_record_the_image(
    railway: Railway,
) -> None:
    railway.state.meta_images = False
    assert railway.run("deploy", "staging").code == 0
    railway.write_config(IMAGE_B)
    assert railway.run("deploy", "staging").code == 0

    promoted = railway.run("promote", "--tag", "v2", "--from", "staging", "--to", "staging2")
    rolled = railway.run("rollback", "staging")

    assert promoted.code == 0, promoted
    assert railway.live_image("staging2") == IMAGE_B
    assert rolled.code == 0, rolled
    assert railway.live_image("staging") == IMAGE_A


def test_rollback_redeploys_the_previous_image(railway: Railway) -> None:
    assert railway.run("deploy", "staging").code == 0
    railway.write_config(IMAGE_B)
    assert railway.run("deploy", "staging").code == 0
    assert railway.live_image("staging") == IMAGE_B

    result = railway.run("rollback", "staging", "--json")

    assert result.code == 0, result
    assert railway.live_image("staging") == IMAGE_A
    assert [d.image for d in railway.deployments("staging")] == [IMAGE_A, IMAGE_B, IMAGE_A]


SOURCE_CONFIG = """
[project]
name = "shop"

[services.web]
source = "app"
start = "python3 app.py"

[environments.staging]
provider = "railway"

[environments.staging.railway]
project = "shop"

[environments.staging2]
provider = "railway"

[environments.staging2.railway]
project = "shop"
"""


def test_a_service_without_an_image_is_uploaded_and_cannot_be_promoted(railway: Railway) -> None:
    (railway.root / "app").mkdir()
    (railway.root / "app" / "app.py").write_text("print('hello')\n")
    (railway.root / "shipit.toml").write_text(SOURCE_CONFIG)

    deployed = railway.run("deploy", "staging")
    promoted = railway.run("promote", "--tag", "v1", "--from", "staging", "--to", "staging2")

    assert deployed.code == 0, deployed
    (upload,) = railway.state.uploads
    assert upload["files"] == ["./app.py"]
    assert railway.state.instances[railway.ids("staging")]["settings"]["startCommand"] == (
        "python3 app.py"
    )
    assert promoted.code == 2, promoted
    assert "cannot be promoted" in promoted.stderr


def test_rate_limited_reads_are_retried_but_a_rate_limited_deploy_is_not(railway: Railway) -> None:
    faults = railway.server.faults
    faults.add(status=429, headers={"Retry-After": "0"}, times=2, operation="ShipitProject")
    assert railway.run("deploy", "staging").code == 0
    assert railway.server.journal.count(operation="ShipitProject") == 3

    railway.server.journal.clear()
    faults.add(status=429, headers={"Retry-After": "0"}, operation="ShipitServiceInstanceDeploy")
    result = railway.run("deploy", "staging")

    assert result.code == 4, result
    assert "429" in result.stderr
    assert railway.server.journal.count(operation="ShipitServiceInstanceDeploy") == 1


def test_a_refused_token_exits_3_naming_the_variables(railway: Railway) -> None:
    railway.state.bearer_tokens.clear()
    result = railway.run("deploy", "staging")
    assert result.code == 3, result
    assert "RAILWAY_API_TOKEN" in result.stderr
    assert TOKEN not in result.output


@pytest.fixture
def standalone_fake() -> Iterator[str]:
    with run_standalone_fake("tests.fakes.railway", TOKEN) as url:
        yield url


def test_the_fake_runs_standalone_for_the_cli(standalone_fake: str, tmp_path: Path) -> None:
    (tmp_path / "shipit.toml").write_text(CONFIG.format(image=IMAGE_A, env='A = "1"'))
    environment = {"SHIPIT_RAILWAY_API_URL": standalone_fake, "RAILWAY_API_TOKEN": TOKEN}

    deployed = run_shipit("deploy", "staging", cwd=tmp_path, env=environment)
    status = run_shipit("status", "staging", "--json", cwd=tmp_path, env=environment)

    assert deployed.code == 0, deployed
    assert status.json()["services"][0]["state"] == "running"
    import httpx

    state = httpx.get(f"{standalone_fake}/_fake/state", timeout=5).json()
    assert state["invalid"] == []
    assert json.dumps(state).count(IMAGE_A) >= 1
