"""The Fly adapter against real-shaped answers (respx); every request is schema-checked."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from tests.providers.support import Sleeps

from shipit.errors import (
    AuthError,
    ConfigError,
    DeployFailedError,
    ExitCode,
    ProviderAPIError,
    UsageError,
)
from shipit.providers.base import Artifact, Capability, Deployment, Release
from shipit.providers.fly import FlyProvider
from shipit.providers.fly.client import app_url, graphql_url, logs_url, machines_url
from shipit.sensitive import Secret

from .conftest import (
    APP,
    DIGEST,
    IMAGE,
    OLD_IMAGE,
    TOKEN,
    FlyAPI,
    app_answer,
    crashed_exit,
    error,
    event,
    graphql_error,
    lease,
    log_entry,
    machine,
    passing,
    release_node,
    releases_answer,
    versions,
)

MakeProvider = Callable[..., FlyProvider]
NEW_ID = "e286504f2d0187"


def created(call, machine_id: str = NEW_ID, state: str = "created") -> dict:
    """The Machines_create answer: the machine as sent, not yet started."""
    config = call.body["config"]
    found = machine(
        machine_id, state=state, image=config["image"], instance_id="01J9NEW0000000000000000000"
    )
    found["config"] = config
    found["checks"] = []
    found["events"] = [event("launch")]
    return found


def updated(call) -> dict:
    """The Machines_update answer: the machine with its new config and version."""
    config = call.body["config"]
    machine_id = call.path.rsplit("/", 1)[-1]
    found = machine(
        machine_id,
        state="replacing",
        image=config["image"],
        instance_id="01J9UPD0000000000000000000",
    )
    found["config"] = config
    found["checks"] = []
    found["events"] = [event("update")]
    return found


def running(machine_id: str, image: str = IMAGE, **kw) -> dict:
    """A machine that came up on ``image`` (started, checks passing, launched after update)."""
    kw.setdefault("events", [event("start"), event("update")])
    return machine(machine_id, image=image, **kw)


# credentials, URLs, capabilities ----------------------------------------------------------
def test_no_token_is_an_auth_error_naming_the_variable(make_provider: MakeProvider) -> None:
    with pytest.raises(AuthError) as caught:
        make_provider(token=None)
    assert caught.value.exit_code == ExitCode.AUTH
    assert "FLY_API_TOKEN" in (caught.value.hint or "")
    assert "shipit login fly" in (caught.value.hint or "")


def test_macaroons_go_as_flyv1_and_graphql_also_gets_user_tokens(
    existing_app: FlyAPI, make_provider: MakeProvider
) -> None:
    existing_app.on("Machines_list", [])
    existing_app.on("ShipitAppReleases", releases_answer())
    macaroons, user = "fm2_fake-a,fm2_fake-b", "fo1_fake-user"  # fakes in Fly's token shapes
    provider = make_provider(token=f"FlyV1 {macaroons},{user}")
    provider.releases(provider.context.environment.services["web"])
    rest = existing_app.sent("Apps_show")[0].headers
    graph = existing_app.sent("ShipitAppReleases")[0].headers
    assert rest["authorization"] == f"FlyV1 {macaroons}"
    assert graph["authorization"] == f"FlyV1 {macaroons},{user}"
    assert rest["user-agent"].startswith("shipit/")


def test_a_user_token_goes_as_bearer(existing_app: FlyAPI, make_provider: MakeProvider) -> None:
    existing_app.on("Machines_list", [])
    existing_app.on("ShipitAppReleases", releases_answer())
    provider = make_provider(token="Bearer fo1_plainusertoken")
    provider.releases(provider.context.environment.services["web"])
    assert existing_app.sent("Apps_show")[0].headers["authorization"] == "Bearer fo1_plainusertoken"


def test_base_urls_follow_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    assert machines_url() == "https://api.machines.dev/v1"
    assert graphql_url() == "https://api.fly.io/graphql"
    assert app_url("shop") == "https://shop.fly.dev"
    assert logs_url("shop") == "https://api.fly.io/api/v1/apps/shop/logs"
    monkeypatch.setenv("SHIPIT_FLY_MACHINES_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SHIPIT_FLY_GRAPHQL_URL", "http://127.0.0.1:8/")
    monkeypatch.setenv("SHIPIT_FLY_APP_URL_TEMPLATE", "http://127.0.0.1:8/_app/{app}/")
    assert machines_url() == "http://127.0.0.1:9/v1"
    assert graphql_url() == "http://127.0.0.1:8/graphql"
    assert logs_url("shop") == "http://127.0.0.1:8/api/v1/apps/shop/logs"
    assert app_url("shop") == "http://127.0.0.1:8/_app/shop"
    monkeypatch.setenv("SHIPIT_FLY_APP_URL_TEMPLATE", "http://127.0.0.1:8/")
    with pytest.raises(UsageError, match="placeholder"):
        app_url("shop")


def test_capabilities_are_declared_truthfully() -> None:
    caps = FlyProvider.capabilities
    assert Capability.READ_SECRET_VALUES not in caps  # Fly cannot read secrets back
    assert Capability.BUILD not in caps  # images only
    assert Capability.BUILD_LOGS not in caps
    assert {Capability.DEPLOY_IMAGE, Capability.PROMOTE, Capability.ROLLBACK} <= caps
    assert {Capability.SET_ENV_BATCH, Capability.READ_ENV, Capability.LINK_DB} <= caps
    assert {Capability.LOGS_FOLLOW, Capability.STOP, Capability.RELEASES} <= caps


def test_a_refused_token_exits_3(api: FlyAPI, provider: FlyProvider, web) -> None:
    api.on("Apps_show", error(401, "You must be authenticated to view this."))
    with pytest.raises(AuthError) as caught:
        provider.releases(web)
    assert caught.value.exit_code == ExitCode.AUTH
    assert "FLY_API_TOKEN" in (caught.value.hint or "")
    assert "fm2_" not in str(caught.value)


def test_a_graphql_authentication_error_exits_3(existing_app: FlyAPI, provider, web) -> None:
    existing_app.on("Machines_list", [machine()])
    existing_app.on("ShipitAppReleases", graphql_error("You must be authenticated to view this."))
    with pytest.raises(AuthError):
        provider.releases(web)


def test_a_rate_limited_read_is_retried_after_retry_after(
    existing_app: FlyAPI, provider: FlyProvider, web, sleeps: Sleeps
) -> None:
    limited = httpx.Response(429, json={"error": "rate limited"}, headers={"Retry-After": "2"})
    existing_app.on("Machines_list", limited, limited, [machine()])
    existing_app.on("ShipitAppReleases", releases_answer(release_node(3, OLD_IMAGE)))
    existing_app.on("Machines_list_versions", [])
    (release,) = provider.releases(web)
    assert release.live
    assert len(existing_app.sent("Machines_list")) >= 3
    assert sleeps.calls[:2] == [2.0, 2.0]


def test_a_rate_limited_machine_update_is_not_retried(
    existing_app: FlyAPI, provider: FlyProvider, web, artifact: Artifact
) -> None:
    existing_app.on("Machines_list", [machine()])
    existing_app.on("Machines_create_lease", lease())
    existing_app.on("Machines_update", httpx.Response(429, json={"error": "rate limited"}))
    existing_app.on("Machines_release_lease", {})
    with pytest.raises(ProviderAPIError) as caught:
        provider.deploy(web, artifact)
    assert caught.value.exit_code == ExitCode.PROVIDER
    assert caught.value.status == 429
    assert len(existing_app.sent("Machines_update")) == 1
    assert len(existing_app.sent("Machines_release_lease")) == 1  # the lease is given back
    statuses = [
        c.variables["input"].get("status") for c in existing_app.sent("ShipitUpdateRelease")
    ]
    assert statuses[-1] == "failed"


# deploy -----------------------------------------------------------------------------------
def test_first_deploy_creates_the_app_addresses_and_a_machine(
    api: FlyAPI, make_provider: MakeProvider, artifact: Artifact
) -> None:
    api.on("Apps_show", error(404, "app not found"), app_answer())
    api.on("Apps_create", httpx.Response(201))
    api.on("Machines_list", [])
    api.on("ShipitCreateRelease", graphql_error("not allowed for this token"))
    api.on("App_IPAssignments_list", {"ips": []})
    api.on("App_IPAssignments_create", {"ip": "66.241.124.7", "shared": True})
    api.on("Machines_create", created)
    provider = make_provider()
    web = provider.context.environment.services["web"]

    deployment = provider.deploy(web, artifact, release_name="v1")

    assert api.sent("Apps_create")[0].body == {"name": APP, "org_slug": "personal"}
    kinds = [c.body["type"] for c in api.sent("App_IPAssignments_create")]
    assert kinds == ["shared_v4", "v6"]
    (create,) = api.sent("Machines_create")
    body = create.body
    config = body["config"]
    assert body["region"] == "ams"
    assert config["image"] == IMAGE
    assert config["env"] == {"LOG_LEVEL": "info", "PORT": "8080"}  # no secret in plain env
    assert config["guest"] == {"cpu_kind": "shared", "cpus": 2, "memory_mb": 1024}
    (service,) = config["services"]
    assert service["internal_port"] == 8080
    assert service["checks"][0]["path"] == "/health"
    metadata = config["metadata"]
    assert metadata["fly_platform_version"] == "v2"
    assert metadata["fly_process_group"] == "web"
    assert metadata["shipit_release"] == "v1"
    assert metadata["shipit_deploy"] == deployment.id
    assert metadata["shipit_create"]  # the tag that makes a retry safe
    assert "fly_release_id" not in metadata  # the release record was refused: deploy goes on
    assert deployment.url == f"https://{APP}.fly.dev"
    assert deployment.extra["machines"] == [NEW_ID]


def test_a_deploy_rolls_existing_machines_one_batch_at_a_time(
    existing_app: FlyAPI, make_provider: MakeProvider, artifact: Artifact, tmp_path
) -> None:
    api = existing_app
    (tmp_path / ".shipit" / "fly").mkdir(parents=True)
    (tmp_path / ".shipit" / "fly" / f"{APP}.json").write_text('{"secrets_version": 17}')
    old = [
        machine("aaaaaaaaaaaa01"),
        machine("aaaaaaaaaaaa02"),
        machine("aaaaaaaaaaaa03", state="stopped"),
    ]
    api.on("Machines_list", old)
    api.on("Machines_create_lease", lease("n1"), lease("n2"), lease("n3"))
    api.on("Machines_update", updated)
    api.on("Machines_release_lease", {})
    provider = make_provider(replicas=3)
    web = provider.context.environment.services["web"]

    deployment = provider.deploy(web, artifact, release_name="v2")

    (first,) = api.sent("Machines_update")
    assert first.path.endswith("/aaaaaaaaaaaa01")
    assert first.headers["fly-machine-lease-nonce"] == "n1"
    assert first.body["current_version"] == "01J8ZQ4V3M6V7K1N2P3Q4R5S6T"
    assert first.body["min_secrets_version"] == 17
    config = first.body["config"]
    assert config["image"] == IMAGE
    assert config["env"] == {"KEEP": "1", "LOG_LEVEL": "info", "PORT": "8080"}  # others kept
    assert config["services"][0]["autostop"] == "stop"  # read back as a boolean
    assert config["services"][0]["min_machines_running"] == 1  # the user's routing kept
    assert config["restart"] == {"policy": "on-failure", "max_retries": 10}
    assert config["metadata"]["fly_release_id"] == "rel_0004"
    assert config["metadata"]["fly_release_version"] == "4"
    assert api.sent("Machines_release_lease")[0].headers["fly-machine-lease-nonce"] == "n1"

    # a third of three is one machine per batch: each comes up before the next is written
    api.on("Machines_list", [running("aaaaaaaaaaaa01"), *old[1:]])
    assert provider.health(web, deployment).state == "pending"
    api.on("Machines_list", [running("aaaaaaaaaaaa01"), old[1], old[2]])
    assert provider.health(web, deployment).state == "pending"  # 02's update does not show yet
    api.on(
        "Machines_list",
        [running("aaaaaaaaaaaa01"), running("aaaaaaaaaaaa02", state="starting"), old[2]],
    )
    assert provider.health(web, deployment).state == "pending"  # 02 is not up yet
    assert [c.path[-2:] for c in api.sent("Machines_update")] == ["01", "02"]
    assert "skip_launch" not in api.sent("Machines_update")[1].body
    up = [running(f"aaaaaaaaaaaa0{n}") for n in (1, 2)]
    api.on("Machines_list", [*up, old[2]])
    assert provider.health(web, deployment).state == "pending"
    last = api.sent("Machines_update")[2]
    assert last.path.endswith("03")
    assert last.body["skip_launch"] is True  # a stopped machine stays stopped

    api.on("Machines_list", [*up, machine("aaaaaaaaaaaa03", state="stopped", image=IMAGE)])
    api.on("public", httpx.Response(200, json={"status": "ok"}))
    result = provider.health(web, deployment)
    assert result.state == "healthy", result
    assert api.sent("public")[0].path == "/health"

    provider.settle(web, deployment, healthy=True)
    statuses = [c.variables["input"].get("status") for c in api.sent("ShipitUpdateRelease")]
    assert statuses == ["running", "complete"]
    assert api.sent("Machines_delete") == []


def test_missing_replicas_are_created_and_extra_machines_retired_when_healthy(
    existing_app: FlyAPI, make_provider: MakeProvider, artifact: Artifact
) -> None:
    api = existing_app
    api.on("Machines_list", [machine("aaaaaaaaaaaa01")])
    api.on("Machines_create_lease", lease())
    api.on("Machines_update", updated)
    api.on("Machines_release_lease", {})
    api.on("App_IPAssignments_list", {"ips": [{"ip": "66.241.124.7", "shared": True}]})
    api.on("Machines_create", created)
    provider = make_provider(replicas=2)
    web = provider.context.environment.services["web"]
    deployment = provider.deploy(web, artifact)
    api.on("Machines_list", [running("aaaaaaaaaaaa01")])
    assert provider.health(web, deployment).state == "pending"
    (create,) = api.sent("Machines_create")
    assert create.body["config"]["services"][0]["min_machines_running"] == 1  # cloned
    assert api.sent("App_IPAssignments_create") == []  # it has an address already

    # two machines, one replica wanted: the extra one goes once the new one is healthy
    api.calls.clear()
    api.on("Machines_list", [machine("aaaaaaaaaaaa01"), machine("aaaaaaaaaaaa02")])
    provider = make_provider(replicas=1)
    web = provider.context.environment.services["web"]
    deployment = provider.deploy(web, artifact)
    api.on("Machines_list", [running("aaaaaaaaaaaa01"), machine("aaaaaaaaaaaa02")])
    api.on("public", httpx.Response(200))
    assert provider.health(web, deployment).state == "healthy"
    api.on("Machines_delete", {})
    provider.settle(web, deployment, healthy=True)
    (deleted,) = api.sent("Machines_delete")
    assert deleted.path.endswith("/aaaaaaaaaaaa02")
    assert deleted.query == {"force": ["true"]}


def test_an_ambiguous_create_failure_finds_the_machine_instead_of_creating_twice(
    existing_app: FlyAPI, provider: FlyProvider, web, artifact: Artifact
) -> None:
    api = existing_app
    api.on("App_IPAssignments_list", {"ips": [{"ip": "66.241.124.7"}]})
    api.on("Machines_create", httpx.Response(504, text="upstream timeout"))

    def lookup(call):
        tag = call.query.get("metadata.shipit_create")
        if not tag:
            return []
        sent = api.sent("Machines_create")[0].body["config"]
        found = machine(NEW_ID, state="starting", image=IMAGE)
        found["config"]["metadata"] = sent["metadata"]
        return [found] if sent["metadata"]["shipit_create"] == tag[0] else []

    api.on("Machines_list", lookup)
    deployment = provider.deploy(web, artifact)
    assert len(api.sent("Machines_create")) == 1
    assert deployment.extra["machines"] == [NEW_ID]


def test_a_refused_create_is_an_api_error_with_the_capacity_hint(
    existing_app: FlyAPI, provider: FlyProvider, web, artifact: Artifact
) -> None:
    api = existing_app
    api.on("Machines_list", [])
    api.on("App_IPAssignments_list", {"ips": [{"ip": "66.241.124.7"}]})
    api.on("Machines_create", error(503, "out of capacity", "insufficient_capacity"))
    with pytest.raises(ProviderAPIError) as caught:
        provider.deploy(web, artifact)
    assert "capacity" in (caught.value.hint or "")
    assert len(api.sent("Machines_create")) == 1
    assert caught.value.request_id == "01J0ERR"


def test_a_held_lease_names_the_other_deploy(
    existing_app: FlyAPI, provider: FlyProvider, web, artifact: Artifact
) -> None:
    existing_app.on("Machines_list", [machine()])
    existing_app.on("Machines_create_lease", error(409, "lease currently held"))
    with pytest.raises(ProviderAPIError) as caught:
        provider.deploy(web, artifact)
    assert "leased by another deploy" in (caught.value.hint or "")
    assert existing_app.sent("Machines_update") == []


def test_a_flat_lease_answer_is_accepted(
    existing_app: FlyAPI, provider: FlyProvider, web, artifact: Artifact
) -> None:
    existing_app.on("Machines_list", [machine()])
    existing_app.on("Machines_create_lease", httpx.Response(201, json={"nonce": "flat-1"}))
    existing_app.on("Machines_update", updated)
    existing_app.on("Machines_release_lease", {})
    provider.deploy(web, artifact)
    assert existing_app.sent("Machines_update")[0].headers["fly-machine-lease-nonce"] == "flat-1"


def test_only_images_deploy(provider: FlyProvider, web) -> None:
    with pytest.raises(UsageError, match="Fly runs images"):
        provider.deploy(web, Artifact(kind="bundle", ref="rel-1"))
    with pytest.raises(UsageError, match="deploys images"):
        provider.build(web)
    assert provider.planned_artifact(web) is None


def test_a_name_taken_elsewhere_is_a_config_error(api: FlyAPI, provider, web, artifact) -> None:
    api.on("Apps_show", error(403, "Forbidden"))
    with pytest.raises(ConfigError, match="taken by an app this token cannot see"):
        provider.deploy(web, artifact)
    api.on("Apps_show", error(404, "not found"))
    api.on(
        "Apps_create", error(422, "Validation failed: Name has already been taken", "name_taken")
    )
    other = FlyProvider(provider.context)
    with pytest.raises(ConfigError, match="is taken") as caught:
        other.deploy(web, artifact)
    assert caught.value.key == "environments.staging.fly.app"
    other.close()


# health and settle ------------------------------------------------------------------------
def _deployed(api: FlyAPI, provider: FlyProvider, web, artifact) -> Deployment:
    api.on("Machines_list", [machine("aaaaaaaaaaaa01")])
    api.on("Machines_create_lease", lease())
    api.on("Machines_update", updated)
    api.on("Machines_release_lease", {})
    return provider.deploy(web, artifact)


def test_a_crash_fails_the_probe_at_once(existing_app: FlyAPI, provider, web, artifact) -> None:
    deployment = _deployed(existing_app, provider, web, artifact)
    crashing = running("aaaaaaaaaaaa01", state="stopped", events=[crashed_exit(), event("update")])
    existing_app.on("Machines_list", [crashing])
    result = provider.health(web, deployment)
    assert result.state == "failed"
    assert "crashing (exit code 1" in result.detail


def test_an_exit_of_the_previous_version_does_not_count(
    existing_app: FlyAPI, provider, web, artifact
) -> None:
    deployment = _deployed(existing_app, provider, web, artifact)
    before = running("aaaaaaaaaaaa01", state="starting", events=[event("update"), crashed_exit()])
    existing_app.on("Machines_list", [before])
    assert provider.health(web, deployment).state == "pending"


def test_a_failed_machine_and_critical_checks(
    existing_app: FlyAPI, provider, web, artifact
) -> None:
    deployment = _deployed(existing_app, provider, web, artifact)
    existing_app.on("Machines_list", [running("aaaaaaaaaaaa01", checks=[passing("critical")])])
    pending = provider.health(web, deployment)
    assert pending.state == "pending"  # checks may recover; the engine's deadline decides
    assert "critical" in pending.detail
    existing_app.on("Machines_list", [running("aaaaaaaaaaaa01", state="failed")])
    assert provider.health(web, deployment).state == "failed"


def test_the_health_path_must_answer(existing_app: FlyAPI, provider, web, artifact) -> None:
    deployment = _deployed(existing_app, provider, web, artifact)
    existing_app.on("Machines_list", [running("aaaaaaaaaaaa01")])
    existing_app.on("public", httpx.Response(503), httpx.Response(200))
    first = provider.health(web, deployment)
    assert (first.state, first.status_code) == ("pending", 503)
    assert provider.health(web, deployment).state == "healthy"


def test_an_unhealthy_deploy_puts_the_previous_config_back(
    existing_app: FlyAPI, provider, web, artifact
) -> None:
    api = existing_app
    deployment = _deployed(api, provider, web, artifact)
    api.on("Machines_list", [running("aaaaaaaaaaaa01", checks=[passing("critical")])])
    provider.settle(web, deployment, healthy=False)
    restore = api.sent("Machines_update")[-1]
    config = restore.body["config"]
    assert config["image"] == OLD_IMAGE
    assert config["env"]["LOG_LEVEL"] == "debug"  # the whole previous config
    assert config["metadata"]["shipit_restored_from"] == deployment.id
    assert config["services"][0]["autostop"] == "stop"
    assert config["services"][0]["checks"][0]["interval"] == "15000ms"
    statuses = [c.variables["input"].get("status") for c in api.sent("ShipitUpdateRelease")]
    assert statuses[-1] == "failed"


def test_a_machine_fly_left_on_the_old_image_is_only_started_again(
    existing_app: FlyAPI, provider, web, artifact
) -> None:
    api = existing_app
    deployment = _deployed(api, provider, web, artifact)
    api.on("Machines_list", [machine("aaaaaaaaaaaa01", state="stopped", image=OLD_IMAGE)])
    api.on("Machines_start", {"message": "", "status": "success", "previous_state": "stopped"})
    provider.settle(web, deployment, healthy=False)
    assert len(api.sent("Machines_update")) == 1  # only the deploy's own update
    assert len(api.sent("Machines_start")) == 1


def test_machines_a_failed_deploy_created_are_destroyed(
    existing_app: FlyAPI, make_provider: MakeProvider, artifact
) -> None:
    api = existing_app
    api.on("Machines_list", [machine("aaaaaaaaaaaa01")])
    api.on("Machines_create_lease", lease())
    api.on("Machines_update", updated)
    api.on("Machines_release_lease", {})
    api.on("App_IPAssignments_list", {"ips": [{"ip": "66.241.124.7"}]})
    api.on("Machines_create", created)
    api.on("Machines_delete", {})
    provider = make_provider(replicas=2)
    web = provider.context.environment.services["web"]
    deployment = provider.deploy(web, artifact)
    api.on("Machines_list", [running("aaaaaaaaaaaa01")])
    provider.health(web, deployment)  # writes the second batch: one new machine
    api.on("Machines_list", [running("aaaaaaaaaaaa01"), running(NEW_ID, state="failed")])
    provider.settle(web, deployment, healthy=False)
    assert api.sent("Machines_delete")[0].path.endswith(NEW_ID)
    assert api.sent("Machines_update")[-1].body["config"]["image"] == OLD_IMAGE


def test_a_restore_that_fails_is_a_deploy_failure(
    existing_app: FlyAPI, provider, web, artifact
) -> None:
    deployment = _deployed(existing_app, provider, web, artifact)
    existing_app.on("Machines_list", [running("aaaaaaaaaaaa01")])
    existing_app.on("Machines_create_lease", error(409, "lease currently held"))
    with pytest.raises(DeployFailedError) as caught:
        provider.settle(web, deployment, healthy=False)
    assert caught.value.exit_code == ExitCode.DEPLOY
    assert "aaaaaaaaaaaa01" in str(caught.value)
    assert "shipit rollback staging" in (caught.value.hint or "")


# env --------------------------------------------------------------------------------------
def test_set_env_writes_all_secrets_in_one_staged_call(
    existing_app: FlyAPI, provider: FlyProvider, web, tmp_path
) -> None:
    api = existing_app
    api.on("Machines_list", [machine()])
    api.on("Secrets_update", {"secrets": [{"name": "API_KEY", "digest": "d1"}], "version": 18})
    values = {"API_KEY": Secret("sk-live-1234567890"), "LOG_LEVEL": "info", "NEW": "x"}

    applied = provider.set_env(web, values)

    (write,) = api.sent("Secrets_update")
    assert write.body == {"values": {"API_KEY": "sk-live-1234567890"}}
    assert applied.set == ("API_KEY", "LOG_LEVEL", "NEW")  # LOG_LEVEL differs (debug)
    assert applied.needs_deploy
    stored = json.loads((tmp_path / ".shipit" / "fly" / f"{APP}.json").read_text())
    assert stored == {"secrets_version": 18}
    assert "sk-live" not in (tmp_path / ".shipit" / "fly" / f"{APP}.json").read_text()
    # the next deploy carries the plain values and the vault version
    api.on("Machines_create_lease", lease())
    api.on("Machines_update", updated)
    api.on("Machines_release_lease", {})
    provider.deploy(web, Artifact(kind="image", ref=IMAGE, digest=DIGEST))
    update = api.sent("Machines_update")[0].body
    assert update["min_secrets_version"] == 18
    assert update["config"]["env"]["NEW"] == "x"
    assert "API_KEY" not in update["config"]["env"]


def test_unset_removes_secrets_and_env_and_leaves_the_rest(
    existing_app: FlyAPI, provider: FlyProvider, web
) -> None:
    api = existing_app
    api.on("Machines_list", [machine()])
    api.on("Secrets_list", {"secrets": [{"name": "OLD_TOKEN", "digest": "d0"}]})
    api.on("Secret_delete", {"version": 19})
    applied = provider.set_env(web, {"LOG_LEVEL": "info"}, unset=["OLD_TOKEN", "KEEP", "GONE"])
    assert [c.path for c in api.sent("Secret_delete")] == [f"/v1/apps/{APP}/secrets/OLD_TOKEN"]
    assert api.sent("Secrets_update") == []
    assert applied.unset == ("OLD_TOKEN", "KEEP")
    assert applied.set == ("LOG_LEVEL",)  # debug on the machine
    api.on("Machines_create_lease", lease())
    api.on("Machines_update", updated)
    api.on("Machines_release_lease", {})
    provider.deploy(web, Artifact(kind="image", ref=IMAGE, digest=DIGEST))
    body = api.sent("Machines_update")[0].body
    assert body["config"]["env"] == {"LOG_LEVEL": "info", "PORT": "8080"}  # KEEP removed
    assert body["min_secrets_version"] == 19


def test_get_env_lists_secret_names_never_values(
    existing_app: FlyAPI, provider: FlyProvider, web
) -> None:
    existing_app.on("Machines_list", [machine()])
    existing_app.on(
        "Secrets_list",
        {"secrets": [{"name": "API_KEY", "digest": "3f2a", "created_at": "2026-08-21T10:00:00Z"}]},
    )
    found = provider.get_env(web)
    assert found is not None
    assert found["LOG_LEVEL"] == "debug"
    assert isinstance(found["API_KEY"], Secret)
    assert existing_app.sent("Secrets_list")[0].query == {}  # no show_secrets


def test_get_env_of_a_missing_app_is_none(api: FlyAPI, provider: FlyProvider, web) -> None:
    api.on("Apps_show", error(404, "not found"))
    assert provider.get_env(web) is None
    assert provider.releases(web) == []


# database ---------------------------------------------------------------------------------
def test_link_db_creates_managed_postgres_and_writes_database_url(
    existing_app: FlyAPI, provider: FlyProvider, web, sleeps: Sleeps
) -> None:
    api = existing_app
    api.on("Secrets_list", {"secrets": []})
    api.on(
        "ShipitOrganization",
        {"organization": {"id": "O1", "slug": "personal", "rawSlug": "acme-personal", "name": "A"}},
    )
    api.on("Postgres_list", {"data": [{"id": "other", "name": "blog-db", "status": "ready"}]})
    api.on(
        "Postgres_create", httpx.Response(201, json={"data": {"id": "pg1", "status": "creating"}})
    )
    ready = {
        "id": "pg1",
        "status": "ready",
        "endpoints": {
            "primary": {
                "pooler": {"host": "pgbouncer.pg1.flympg.net", "port": 5432},
                "direct": {"host": "direct.pg1.flympg.net", "port": 5432},
            }
        },
    }
    api.on(
        "Postgres_show",
        {"data": {"id": "pg1", "status": "creating"}},
        {"data": {"id": "pg1", "status": "initializing"}},
        {"data": ready},
    )
    api.on(
        "Postgres_users_credentials", {"data": {"username": "fly-user", "password": "p@ss/w0rd"}}
    )
    api.on("Postgres_attachments_create", httpx.Response(201, json={"data": {"app_name": APP}}))
    api.on("Secrets_update", {"secrets": [], "version": 20})

    link = provider.link_db(web)

    assert api.sent("Postgres_list")[0].query == {"org_slug": ["acme-personal"]}
    assert api.sent("Postgres_create")[0].body == {
        "org_slug": "acme-personal",
        "plan": "basic",
        "region": "ams",
        "name": f"{APP}-db",
        "pg_major_version": "17",
    }
    assert sleeps.calls == [2.0, 4.0]
    secret = api.sent("Secrets_update")[0].body["values"]["DATABASE_URL"]
    assert secret == "postgresql://fly-user:p%40ss%2Fw0rd@pgbouncer.pg1.flympg.net/fly-db"
    assert api.sent("Postgres_attachments_create")[0].body == {"app_name": APP}
    assert (link.created, link.written, link.variable) == (True, True, "DATABASE_URL")
    assert "p@ss" not in link.description


def test_link_db_keeps_an_existing_database_url(existing_app: FlyAPI, provider, web) -> None:
    existing_app.on("Secrets_list", {"secrets": [{"name": "DATABASE_URL", "digest": "aa"}]})
    link = provider.link_db(web)
    assert (link.created, link.written) == (False, False)
    assert existing_app.names() == ["Apps_show", "Secrets_list"]


def test_link_db_reuses_the_attached_cluster_and_survives_a_failed_attachment(
    existing_app: FlyAPI, provider, web
) -> None:
    api = existing_app
    api.on("Secrets_list", {"secrets": []})
    api.on(
        "ShipitOrganization",
        {"organization": {"id": "O1", "slug": "personal", "rawSlug": "acme", "name": "A"}},
    )
    api.on(
        "Postgres_list",
        {"data": [{"id": "pg9", "name": "x", "status": "ready", "attached_apps": [{"name": APP}]}]},
    )
    api.on(
        "Postgres_show",
        {
            "data": {
                "id": "pg9",
                "status": "ready",
                "endpoints": {"primary": {"pooler": {"host": "h", "port": 6432}}},
            }
        },
    )
    api.on("Postgres_users_credentials", {"data": {"username": "fly-user", "password": "pw"}})
    api.on("Postgres_attachments_create", error(500, "internal"))
    api.on("Secrets_update", {"secrets": [], "version": 3})
    link = provider.link_db(web)
    assert link.created is False
    assert api.sent("Postgres_create") == []
    assert api.sent("Secrets_update")[0].body["values"]["DATABASE_URL"].endswith("@h:6432/fly-db")
    assert "attachment record failed" in link.description


def test_sqlite_is_not_offered(provider: FlyProvider, web) -> None:
    import dataclasses

    with pytest.raises(ConfigError, match="no 'sqlite' database"):
        provider.link_db(dataclasses.replace(web, database="sqlite"))


# logs -------------------------------------------------------------------------------------
def test_logs_show_the_latest_lines_of_the_services_machines(
    existing_app: FlyAPI, provider: FlyProvider, web
) -> None:
    api = existing_app
    worker = machine("bbbbbbbbbbbb01", group="worker")
    api.on("Machines_list", [machine(), worker])
    api.on(
        "logs",
        {
            "data": [
                log_entry("booting", 1_000),
                log_entry("worker tick", 2_000, instance="bbbbbbbbbbbb01"),
                log_entry("GET /health 200", 3_000, provider="proxy"),
            ],
            "meta": {"next_token": "3000"},
        },
    )
    lines = list(provider.logs(web, lines=10))
    assert [line.message for line in lines] == ["booting", "GET /health 200"]
    assert [line.stream for line in lines] == ["runtime", "http"]
    assert lines[0].release == "3d8d9e1b7e1589"
    assert api.sent("logs")[0].query == {}
    assert api.sent("logs")[0].headers["authorization"] == f"FlyV1 {TOKEN}"
    assert list(provider.logs(web, build=True)) == []


def test_logs_since_page_forward_from_the_token(existing_app: FlyAPI, provider, web) -> None:
    existing_app.on("Machines_list", [machine()])
    existing_app.on(
        "logs",
        {"data": [log_entry("a", 5_000)], "meta": {"next_token": "5000"}},
        {"data": [log_entry("b", 6_000)], "meta": {"next_token": "6000"}},
        {"data": [], "meta": {"next_token": "6000"}},
    )
    since = datetime(2026, 8, 21, 10, 0, tzinfo=UTC)
    assert [line.message for line in provider.logs(web, since=since)] == ["a", "b"]
    tokens = [c.query.get("next_token") for c in existing_app.sent("logs")]
    assert tokens[0] == [str(int(since.timestamp()) * 1_000_000_000)]
    assert tokens[1:] == [["5000"], ["6000"]]


def test_follow_polls_with_the_last_token_and_backs_off(
    existing_app: FlyAPI, provider, web, sleeps: Sleeps
) -> None:
    existing_app.on("Machines_list", [machine()])
    existing_app.on(
        "logs",
        {"data": [log_entry("one", 1_000)], "meta": {"next_token": "1000"}},
        {"data": [], "meta": {"next_token": "1000"}},
        {"data": [], "meta": {"next_token": "1000"}},
        {
            "data": [log_entry("one", 1_000), log_entry("two", 2_000)],
            "meta": {"next_token": "2000"},
        },
    )
    lines = list(itertools.islice(provider.logs(web, follow=True), 2))
    assert [line.message for line in lines] == ["one", "two"]
    assert sleeps.calls == [0.064, 0.128]
    assert [c.query.get("next_token") for c in existing_app.sent("logs")] == [
        None,
        ["1000"],
        ["1000"],
        ["1000"],
    ]


def test_follow_gives_up_after_ten_failures(existing_app: FlyAPI, provider, web) -> None:
    existing_app.on("Machines_list", [machine()])
    existing_app.on("logs", {"data": [], "meta": {}}, error(500, "boom"))
    with pytest.raises(ProviderAPIError):
        list(itertools.islice(provider.logs(web, follow=True), 1))
    assert len(existing_app.sent("logs")) == 11


# releases, redeploy, status, stop ---------------------------------------------------------
def test_releases_come_from_records_with_names_from_machine_versions(
    existing_app: FlyAPI, provider: FlyProvider, web
) -> None:
    api = existing_app
    api.on("Machines_list", [machine(image=OLD_IMAGE)])
    api.on(
        "ShipitAppReleases",
        releases_answer(
            release_node(3, IMAGE, status="running"),
            release_node(2, OLD_IMAGE),
            release_node(1, "registry.fly.io/shop-staging:deployment-01J7"),
        ),
    )
    api.on(
        "Machines_list_versions",
        versions(
            ("01J9C00000000000000000000C", OLD_IMAGE, {"shipit_restored_from": "D3"}),
            ("01J9B00000000000000000000B", IMAGE, {"shipit_deploy": "D3", "shipit_release": "v3"}),
            (
                "01J9A00000000000000000000A",
                OLD_IMAGE,
                {"shipit_deploy": "D2", "shipit_release": "v2"},
            ),
        ),
    )
    third, second, first = provider.releases(web)
    assert (third.name, third.state, third.live) == ("v3", "failed", False)  # rolled back
    assert (second.name, second.state, second.live) == ("v2", "live", True)
    assert second.artifact.digest == OLD_IMAGE.split("@")[1]
    assert (first.state, first.artifact.digest) == ("stopped", None)
    assert api.sent("ShipitAppReleases")[0].variables == {"appName": APP, "limit": 50}


def test_without_release_records_history_comes_from_machine_versions(
    existing_app: FlyAPI, provider: FlyProvider, web
) -> None:
    api = existing_app
    api.on("Machines_list", [machine(image=IMAGE, metadata={"shipit_release": "v2"})])
    api.on("ShipitAppReleases", graphql_error("Could not find App"))
    api.on(
        "Machines_list_versions",
        versions(
            ("01J9B00000000000000000000B", IMAGE, {"shipit_deploy": "D2", "shipit_release": "v2"}),
            (
                "01J9A00000000000000000000A",
                OLD_IMAGE,
                {"shipit_deploy": "D1", "shipit_release": "v1"},
            ),
        ),
    )
    live, earlier = provider.releases(web)
    assert (live.id, live.name, live.live, live.state) == ("D2", "v2", True, "live")
    assert (earlier.id, earlier.name, earlier.live) == ("D1", "v1", False)
    assert live.created_at > earlier.created_at


def test_a_machine_image_no_record_names_is_the_live_release(
    existing_app: FlyAPI, provider: FlyProvider, web
) -> None:
    api = existing_app
    api.on(
        "Machines_list",
        [machine(image=IMAGE, metadata={"shipit_release": "v9", "shipit_deploy": "D9"})],
    )
    api.on("ShipitAppReleases", releases_answer(release_node(1, OLD_IMAGE)))
    api.on("Machines_list_versions", [])
    live, old = provider.releases(web)
    assert (live.id, live.name, live.live, live.artifact.ref) == ("D9", "v9", True, IMAGE)
    assert not old.live


def test_redeploy_pins_a_tag_release_before_deploying(
    existing_app: FlyAPI, provider: FlyProvider, web
) -> None:
    api = existing_app
    api.on("Machines_list", [machine()])
    api.on(
        "ShipitResolveImage",
        {
            "app": {
                "image": {
                    "id": "img1",
                    "ref": "registry.fly.io/shop-staging:deployment-01J7",
                    "digest": DIGEST,
                    "registry": "registry.fly.io",
                    "repository": "shop-staging",
                    "tag": "deployment-01J7",
                }
            }
        },
    )
    api.on("Machines_create_lease", lease())
    api.on("Machines_update", updated)
    api.on("Machines_release_lease", {})
    tagged = Release(
        id="rel_0001",
        service="web",
        artifact=Artifact(kind="image", ref="registry.fly.io/shop-staging:deployment-01J7"),
        created_at=datetime(2026, 8, 21, tzinfo=UTC),
        name="v1",
    )
    deployment = provider.redeploy(web, tagged)
    assert deployment.artifact.ref == IMAGE
    config = api.sent("Machines_update")[0].body["config"]
    assert config["image"] == IMAGE
    assert config["metadata"]["shipit_release"] == "v1"


def test_status_sums_up_the_machines_and_probes_once(
    existing_app: FlyAPI, provider: FlyProvider, web
) -> None:
    existing_app.on(
        "Machines_list",
        [machine(metadata={"shipit_release": "v2"}), machine("bbbbbbbbbbbb02", state="stopped")],
    )
    existing_app.on("public", httpx.Response(200))
    status = provider.status(web)
    assert (status.state, status.healthy, status.release_name) == ("running", True, "v2")
    assert status.release == OLD_IMAGE
    assert status.url == f"https://{APP}.fly.dev"
    existing_app.on(
        "Machines_list", [machine(state="stopped", events=[crashed_exit(), event("start")])]
    )
    assert provider.status(web).state == "crashed"


def test_stop_stops_running_machines_under_their_lease(
    existing_app: FlyAPI, provider: FlyProvider, web
) -> None:
    existing_app.on("Machines_list", [machine(), machine("bbbbbbbbbbbb02", state="stopped")])
    existing_app.on("Machines_create_lease", lease("s1"))
    existing_app.on("Machines_stop", {})
    existing_app.on("Machines_release_lease", {})
    provider.stop(web)
    (stop,) = existing_app.sent("Machines_stop")
    assert stop.path.endswith("/3d8d9e1b7e1589/stop")
    assert stop.body == {"signal": "SIGTERM"}
    assert stop.headers["fly-machine-lease-nonce"] == "s1"
