"""The fake Fly refuses what Fly refuses, moves machines like Fly, and drives the real adapter."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.fakes.fly import FlyState, fly_environment, fly_server
from tests.fakes.server import FakeServer

from shipit.config.loader import load_config
from shipit.config.overlay import resolve_environment
from shipit.core.engine import Engine
from shipit.providers.base import Artifact, ProviderContext
from shipit.providers.fly import FlyProvider
from shipit.sensitive import Secret

TOKEN = "fly-fake-token-7c1d"
GOOD = "registry.fly.io/shop@sha256:" + "1a" * 32
BAD = "registry.fly.io/shop@sha256:" + "2b" * 32
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def fake(shared_dir: Path) -> Iterator[tuple[FakeServer, FlyState]]:
    state = FlyState()
    state.tokens.add(TOKEN)
    state.add_app("shop")
    with fly_server(state) as running:
        yield running


def _machine_body(image: str = GOOD) -> dict:
    return {
        "region": "iad",
        "config": {
            "image": image,
            "services": [{"protocol": "tcp", "internal_port": 8080}],
            "metadata": {"fly_process_group": "web"},
        },
    }


def test_invalid_requests_get_400_and_are_recorded(fake) -> None:
    server, state = fake
    bad = httpx.post(
        f"{server.url}/v1/apps/shop/machines", json={"config": {"imag": GOOD}}, headers=HEADERS
    )
    assert bad.status_code == 400
    assert "imag" in bad.json()["error"]
    wait = httpx.post(f"{server.url}/v1/apps?wait=true", json={"name": "x"}, headers=HEADERS)
    assert wait.status_code == 400
    assert len(state.invalid) == 2
    graph = httpx.post(
        f"{server.url}/graphql", json={"query": '{ app(name: "shop") { nope } }'}, headers=HEADERS
    )
    assert graph.status_code == 422
    assert len(state.invalid) == 3


def test_requests_without_the_token_are_refused(fake) -> None:
    server, _ = fake
    assert httpx.get(f"{server.url}/v1/apps/shop").status_code == 401
    answer = httpx.post(f"{server.url}/graphql", json={"query": "{ viewer { email } }"}).json()
    assert "authenticated" in answer["errors"][0]["message"]


def test_machines_start_one_step_per_read_and_bad_images_crash(fake) -> None:
    server, state = fake
    state.outcomes["2b2b"] = "crash"
    good = httpx.post(f"{server.url}/v1/apps/shop/machines", json=_machine_body(), headers=HEADERS)
    bad = httpx.post(
        f"{server.url}/v1/apps/shop/machines", json=_machine_body(BAD), headers=HEADERS
    )
    assert good.json()["state"] == "starting"

    def states() -> dict[str, str]:
        time.sleep(0.07)
        listed = httpx.get(f"{server.url}/v1/apps/shop/machines", headers=HEADERS).json()
        return {m["id"]: m["state"] for m in listed}

    assert set(states().values()) == {"started"}  # one step per read
    after = states()
    assert after[good.json()["id"]] == "started"
    assert after[bad.json()["id"]] == "stopped"
    shown = httpx.get(
        f"{server.url}/v1/apps/shop/machines/{bad.json()['id']}", headers=HEADERS
    ).json()
    assert shown["events"][0]["request"]["exit_event"]["exit_code"] == 1
    assert state.bad_answers == []


def test_a_leased_machine_refuses_other_writers(fake) -> None:
    server, _ = fake
    created = httpx.post(
        f"{server.url}/v1/apps/shop/machines", json=_machine_body(), headers=HEADERS
    )
    machine_id = created.json()["id"]
    base = f"{server.url}/v1/apps/shop/machines/{machine_id}"
    lease = httpx.post(f"{base}/lease", json={"ttl": 30}, headers=HEADERS)
    assert lease.status_code == 201
    nonce = lease.json()["data"]["nonce"]
    assert httpx.post(f"{base}/lease", json={"ttl": 30}, headers=HEADERS).status_code == 409
    refused = httpx.post(base, json={"config": _machine_body()["config"]}, headers=HEADERS)
    assert refused.status_code == 409
    accepted = httpx.post(
        base,
        json={"config": _machine_body()["config"]},
        headers={**HEADERS, "fly-machine-lease-nonce": nonce},
    )
    assert accepted.status_code == 200
    released = httpx.delete(f"{base}/lease", headers={**HEADERS, "fly-machine-lease-nonce": nonce})
    assert released.status_code == 200


def test_logs_page_forward_with_next_token(fake) -> None:
    server, _ = fake
    httpx.post(f"{server.url}/v1/apps/shop/machines", json=_machine_body(), headers=HEADERS)
    first = httpx.get(f"{server.url}/api/v1/apps/shop/logs", headers=HEADERS).json()
    assert [e["attributes"]["message"] for e in first["data"]] == [
        f"Pulling container image {GOOD}"
    ]
    token = first["meta"]["next_token"]
    time.sleep(0.05)
    httpx.get(f"{server.url}/v1/apps/shop/machines", headers=HEADERS)  # starts it: more lines
    more = httpx.get(
        f"{server.url}/api/v1/apps/shop/logs", params={"next_token": token}, headers=HEADERS
    ).json()
    assert [e["attributes"]["message"] for e in more["data"]][-1] == "listening on 0.0.0.0:8080"


CONFIG = """
[project]
name = "shop"

[services.web]
image = "{image}"
port = 8080
health_path = "/health"
health_timeout = 20
secrets = ["API_KEY"]

[environments.staging]
provider = "fly"

[environments.staging.fly]
app = "shop-staging"

[environments.staging.services.web]
replicas = 3
"""


def test_the_adapter_rolls_three_replicas_and_rolls_back_a_crash_on_the_fake(
    fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, state = fake
    for name, value in fly_environment(server.url, TOKEN).items():
        monkeypatch.setenv(name, value)
    (tmp_path / "shipit.toml").write_text(CONFIG.format(image=GOOD))
    env = resolve_environment(load_config(tmp_path / "shipit.toml"), "staging")
    context = ProviderContext(environment=env, state_dir=tmp_path / ".shipit", token=Secret(TOKEN))
    provider = FlyProvider(context)
    engine = Engine(env, provider, {"API_KEY": Secret("k-123456789")}, sleep=lambda _: None)
    services = list(env.services.values())
    server.faults.add(
        status=429, headers={"Retry-After": "0"}, path="/v1/apps/shop-staging/machines"
    )
    try:
        first = engine.deploy(services, artifacts={"web": _image(GOOD)}, release_name="v1")
        assert first.ok, first
        assert state.images("shop-staging") == [GOOD] * 3
        machines = state.machines_of("shop-staging")
        assert all(m.secrets == {"API_KEY": "k-123456789"} for m in machines)
        state.outcomes["2b2b"] = "crash"
        second = engine.deploy(services, artifacts={"web": _image(BAD)}, release_name="v2")
        assert not second.ok
        assert "crashing" in (second.services[0].error or "")
        assert state.images("shop-staging") == [GOOD] * 3  # the one that crashed is back
        assert any("boom" in line for line in second.services[0].log_tail)
        releases = provider.releases(env.services["web"])
        assert [(r.name, r.state, r.live) for r in releases] == [
            ("v2", "failed", False),
            ("v1", "live", True),
        ]
    finally:
        provider.close()
    assert state.invalid == []
    assert state.bad_answers == []


def _image(ref: str) -> Artifact:
    return Artifact(kind="image", ref=ref, digest=ref.split("@")[1])


def test_the_adapter_reports_the_backups_of_the_cluster_it_linked(
    fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, state = fake
    for name, value in fly_environment(server.url, TOKEN).items():
        monkeypatch.setenv(name, value)
    text = CONFIG.format(image=GOOD).replace('secrets = ["API_KEY"]', 'database = "postgres"')
    (tmp_path / "shipit.toml").write_text(text)
    env = resolve_environment(load_config(tmp_path / "shipit.toml"), "staging")
    context = ProviderContext(environment=env, state_dir=tmp_path / ".shipit", token=Secret(TOKEN))
    provider = FlyProvider(context, sleep=lambda _: None)
    web = env.services["web"]
    try:
        assert provider.backups(web) is None  # no cluster yet
        provider.link_db(web)
        status = provider.backups(web)
        assert status is not None
        assert status.enabled is True
        assert status.latest is not None
        assert status.detail == "1 completed backup"
        (cluster_id,) = state.clusters
        state.backups[cluster_id] = [{"id": "b2", "status": "running", "type": "full"}]
        status = provider.backups(web)
        assert status is not None
        assert (status.enabled, status.latest) == (False, None)
        assert (
            status.detail == "no completed backup of Managed Postgres 'shop-staging-db' (running)"
        )
    finally:
        provider.close()
    assert state.invalid == []
    assert state.bad_answers == []
