"""The installed CLI against the schema-checking fake Fly, via the SHIPIT_FLY_* variables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.fakes.fly import FlyState, fly_environment, fly_server
from tests.fakes.server import FakeRequest, FakeServer
from tests.helpers import run_shipit, run_standalone_fake

pytestmark = pytest.mark.e2e

TOKEN = "fm2_e2eFlyMacaroon5f1c"
IMAGE_A = "registry.fly.io/example@sha256:" + "a1" * 32
IMAGE_B = "registry.fly.io/example@sha256:" + "b2" * 32
API_KEY = "sk-e2e-fly-0123456789"

CONFIG = """
[project]
name = "shop"
pipeline = ["staging", "production"]

[services.web]
image = "{image}"
port = 8080
health_path = "/health"
health_timeout = 20
secrets = ["API_KEY"]
env = {{ {env} }}

[environments.staging]
provider = "fly"

[environments.staging.fly]
app = "shop-staging"

[environments.production]
provider = "fly"

[environments.production.fly]
app = "shop-prod"
region = "ams"

[environments.production.services.web]
replicas = 2
"""


class Fly:
    """The running fake, its state and the project that deploys to it."""

    def __init__(self, server: FakeServer, state: FlyState, root: Path) -> None:
        self.server = server
        self.state = state
        self.root = root
        self.write_config(IMAGE_A)

    def write_config(self, image: str, env: dict[str, str] | None = None) -> None:
        pairs = ", ".join(f'{k} = "{v}"' for k, v in (env or {"LOG_LEVEL": "info"}).items())
        (self.root / "shipit.toml").write_text(CONFIG.format(image=image, env=pairs))

    def run(self, *args: str, api_key: str = API_KEY, timeout: float = 60):
        environment = {
            **fly_environment(self.server.url, TOKEN),
            "CI": "true",
            "API_KEY": api_key,
        }
        return run_shipit(*args, cwd=self.root, env=environment, timeout=timeout)

    def updates(self, app: str) -> list[FakeRequest]:
        """Machine config writes (create or update) sent for ``app``."""
        return [
            e.request
            for e in self.server.journal.entries(path=f"/v1/apps/{app}/machines", method="POST")
            if not e.request.path.endswith(("/lease", "/start", "/stop"))
        ]


@pytest.fixture
def fly(tmp_path: Path, shared_dir: Path) -> Iterator[Fly]:
    state = FlyState()
    state.tokens.add(TOKEN)
    with fly_server(state) as (server, running):
        yield Fly(server, running, tmp_path)
        assert running.invalid == [], "a request did not validate against Fly's schemas"
        assert running.bad_answers == [], "the fake answered outside the spec"


def test_deploy_production_creates_the_app_and_runs_the_pinned_image(fly: Fly) -> None:
    result = fly.run("deploy", "production", "--json")

    assert result.code == 0, result
    document = result.json()
    assert document["ok"] is True
    assert document["services"][0]["digest"] == "sha256:" + "a1" * 32
    assert fly.state.images("shop-prod") == [IMAGE_A, IMAGE_A]
    machine = fly.state.machines_of("shop-prod")[0]
    assert machine.region == "ams"
    assert machine.config["env"] == {"LOG_LEVEL": "info", "PORT": "8080"}
    assert machine.secrets == {"API_KEY": API_KEY}  # from the vault, not the config
    assert len(fly.state.ips["shop-prod"]) == 2
    sent = [e.request.headers for e in fly.server.journal.entries(path="/v1/")]
    assert all(h["authorization"] == f"FlyV1 {TOKEN}" for h in sent)
    assert API_KEY not in result.output

    status = fly.run("status", "production", "--json")
    assert status.code == 0, status
    service = status.json()["services"][0]
    assert (service["state"], service["healthy"], service["release"]) == ("running", True, IMAGE_A)


def test_a_deploy_that_fails_health_exits_5_and_the_old_image_keeps_running(fly: Fly) -> None:
    assert fly.run("deploy", "staging").code == 0
    fly.write_config(IMAGE_B)
    fly.state.outcomes["b2b2"] = "crash"

    result = fly.run("deploy", "staging")

    assert result.code == 5, result
    assert "crashing" in result.stderr
    assert "RuntimeError: boom" in result.stderr  # the machine's last log lines
    assert fly.state.images("shop-staging") == [IMAGE_A]
    restored = fly.updates("shop-staging")[-1].json()["config"]
    assert restored["image"] == IMAGE_A
    assert restored["metadata"]["shipit_restored_from"]
    releases = fly.run("releases", "staging", "--json").json()["releases"]
    assert [(r["state"], r["live"]) for r in releases] == [("failed", False), ("live", True)]


def test_env_push_writes_secrets_once_and_rolls_each_machine_once(fly: Fly) -> None:
    assert fly.run("deploy", "production").code == 0
    variables = {f"SETTING_{n:02d}": f"value-{n}" for n in range(12)}
    fly.write_config(IMAGE_A, variables)
    fly.server.journal.clear()

    result = fly.run("env", "push", "production", api_key="sk-rotated-9876543210")

    assert result.code == 0, result
    writes = fly.server.journal.entries(path="/v1/apps/shop-prod/secrets", method="POST")
    assert len(writes) == 1
    assert writes[0].request.json() == {"values": {"API_KEY": "sk-rotated-9876543210"}}
    assert len(fly.updates("shop-prod")) == 2  # one update per machine, no restart before
    for machine in fly.state.machines_of("shop-prod"):
        assert {k: machine.config["env"][k] for k in variables} == variables
        assert machine.config["env"]["LOG_LEVEL"] == "info"  # not told to remove it
        assert machine.secrets == {"API_KEY": "sk-rotated-9876543210"}
    assert "sk-rotated" not in result.output


def test_logs_show_the_machines_lines(fly: Fly) -> None:
    assert fly.run("deploy", "staging").code == 0

    result = fly.run("logs", "staging", "-n", "5")

    assert result.code == 0, result
    assert "listening on 0.0.0.0:8080" in result.stdout
    lines = fly.run("logs", "staging", "--json")
    assert lines.code == 0, lines
    messages = [json.loads(line)["message"] for line in lines.stdout.splitlines()]
    assert f"Pulling container image {IMAGE_A}" in messages


def test_promote_moves_the_identical_digest_to_production(fly: Fly) -> None:
    assert fly.run("deploy", "staging").code == 0
    fly.write_config(IMAGE_B)  # promote takes what staging runs, not the config's image

    result = fly.run("promote", "--tag", "v1", "--from", "staging", "--to", "production")

    assert result.code == 0, result
    assert (
        fly.state.images("shop-prod") == [IMAGE_A, IMAGE_A] == fly.state.images("shop-staging") * 2
    )
    releases = fly.run("releases", "production", "--json")
    assert releases.code == 0, releases
    (row,) = releases.json()["releases"]
    assert (row["name"], row["artifact"], row["live"]) == ("v1", IMAGE_A, True)


def test_rollback_deploys_the_previous_image_again(fly: Fly) -> None:
    assert fly.run("deploy", "staging").code == 0
    fly.write_config(IMAGE_B)
    assert fly.run("deploy", "staging").code == 0
    assert fly.state.images("shop-staging") == [IMAGE_B]

    result = fly.run("rollback", "staging")

    assert result.code == 0, result
    assert fly.state.images("shop-staging") == [IMAGE_A]
    images = [r["imageRef"] for r in fly.state.releases["shop-staging"]]
    assert images == [IMAGE_A, IMAGE_B, IMAGE_A]


def test_rate_limited_reads_are_retried_but_a_machine_update_is_not(fly: Fly) -> None:
    faults = fly.server.faults
    faults.add(status=429, headers={"Retry-After": "0"}, times=2, path="/v1/apps/shop-staging")
    assert fly.run("deploy", "staging").code == 0

    def update(request: FakeRequest) -> bool:
        parts = request.path.split("/")
        return request.method == "POST" and len(parts) == 6 and parts[4] == "machines"

    faults.add(status=429, headers={"Retry-After": "0"}, match=update)
    fly.server.journal.clear()
    fly.write_config(IMAGE_B)
    result = fly.run("deploy", "staging")

    assert result.code == 4, result
    assert "429" in result.stderr
    assert len([e for e in fly.server.journal if update(e.request)]) == 1
    assert fly.state.images("shop-staging") == [IMAGE_A]


def test_a_refused_token_exits_3_naming_the_variable(fly: Fly) -> None:
    fly.state.tokens.clear()
    result = fly.run("deploy", "staging")
    assert result.code == 3, result
    assert "FLY_API_TOKEN" in result.stderr
    assert TOKEN not in result.output


@pytest.fixture
def standalone_fake() -> Iterator[str]:
    with run_standalone_fake("tests.fakes.fly", TOKEN) as url:
        yield url


def test_the_fake_runs_standalone_for_the_cli(standalone_fake: str, tmp_path: Path) -> None:
    (tmp_path / "shipit.toml").write_text(CONFIG.format(image=IMAGE_A, env='A = "1"'))
    environment = {**fly_environment(standalone_fake, TOKEN), "CI": "true", "API_KEY": API_KEY}

    deployed = run_shipit("deploy", "staging", cwd=tmp_path, env=environment)
    status = run_shipit("status", "staging", "--json", cwd=tmp_path, env=environment)

    assert deployed.code == 0, deployed
    assert status.json()["services"][0]["state"] == "running"
    state = httpx.get(f"{standalone_fake}/_fake/state", timeout=5).json()
    assert state["invalid"] == []
    assert state["bad_answers"] == []
    assert IMAGE_A in json.dumps(state["machines"])
