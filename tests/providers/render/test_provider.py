"""The Render adapter against real-shaped answers (respx), every request checked by the spec.

The ``api`` fixture validates each request against its operation in Render's OpenAPI document
before answering it with data shaped like the recorded fixtures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from tests.providers.support import Sleeps

from shipit.errors import AuthError, ConfigError, ExitCode, ProviderAPIError, UsageError
from shipit.providers.base import Artifact, Capability, Deployment, Release
from shipit.providers.render import RenderProvider
from shipit.providers.render import operations as ops
from shipit.providers.render.client import api_url
from shipit.providers.render.probe import service_url
from shipit.sensitive import Secret

from .conftest import (
    DIGEST,
    IMAGE,
    OLD_DIGEST,
    OLD_IMAGE,
    OWNER,
    SERVICE_ID,
    SERVICE_URL,
    Call,
    RenderAPI,
    deploy,
    deploys,
    env_vars,
    fixture,
    log_entry,
    logs_page,
    reply,
    service,
    services,
)

MakeProvider = Callable[..., RenderProvider]


def deploying(artifact: Artifact, deploy_id: str = "dep-new", **extra: object) -> Deployment:
    return Deployment(
        id=deploy_id,
        service="web",
        artifact=artifact,
        url=SERVICE_URL,
        extra={"service_id": SERVICE_ID, **extra},
    )


# credentials, workspace, names ------------------------------------------------------------
def test_the_declared_capabilities() -> None:
    assert RenderProvider.capabilities == {
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


def test_no_api_key_is_an_auth_error_naming_the_variable(make_provider: MakeProvider) -> None:
    with pytest.raises(AuthError) as caught:
        make_provider(token=None)
    assert caught.value.exit_code == ExitCode.AUTH
    assert "RENDER_API_KEY" in (caught.value.hint or "")
    assert "shipit login render" in (caught.value.hint or "")


def test_the_key_goes_in_the_bearer_header(api: RenderAPI, provider, web) -> None:
    api.on(ops.LIST_SERVICES, [])
    assert provider.releases(web) == []
    (call,) = api.calls
    assert call.headers["authorization"] == "Bearer rnd_key_1234"
    assert call.headers["accept"] == "application/json"
    assert call.headers["user-agent"].startswith("shipit/")
    assert call.params == {
        "name": ["staging-web"],
        "ownerId": [OWNER],
        "includePreviews": ["false"],
        "limit": ["20"],
    }


def test_a_refused_key_is_an_auth_error_exit_3(api: RenderAPI, provider, web) -> None:
    api.on(ops.LIST_SERVICES, reply(401, {"id": "unauthorized", "message": "unauthorized"}))
    with pytest.raises(AuthError) as caught:
        provider.releases(web)
    assert caught.value.exit_code == ExitCode.AUTH == 3
    assert "HTTP 401" in str(caught.value)
    assert "RENDER_API_KEY" in (caught.value.hint or "")
    assert "rnd_key_1234" not in str(caught.value)


def test_a_workspace_name_is_looked_up(api: RenderAPI, make_provider: MakeProvider) -> None:
    owners = [
        {"owner": {"id": "tea-other", "name": "Acme Labs", "email": "x@y", "type": "team"}},
        {"owner": {"id": OWNER, "name": "Acme", "email": "ops@acme.test", "type": "team"}},
    ]
    api.on(ops.LIST_OWNERS, owners)
    provider = make_provider(owner="Acme")
    assert provider.resolver.owner_id() == OWNER
    assert provider.resolver.owner_id() == OWNER  # cached
    assert api.sent(ops.LIST_OWNERS)[0].params["name"] == ["Acme"]
    assert len(api.calls) == 1


def test_an_unknown_workspace_is_a_config_error(
    api: RenderAPI, make_provider: MakeProvider
) -> None:
    api.on(ops.LIST_OWNERS, [])
    with pytest.raises(ConfigError) as caught:
        make_provider(owner="Nobody").resolver.owner_id()
    assert "environments.staging.render.owner" in str(caught.value)


def test_the_api_url_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    assert api_url() == "https://api.render.com/v1"
    monkeypatch.setenv("SHIPIT_RENDER_API_URL", "http://127.0.0.1:4000/v1/")
    assert api_url() == "http://127.0.0.1:4000/v1"


def test_rate_limited_reads_are_retried_after_retry_after(
    api: RenderAPI, provider, web, sleeps: Sleeps
) -> None:
    api.on(
        ops.LIST_SERVICES,
        reply(429, {"message": "rate limit exceeded"}, {"Retry-After": "7"}),
        [],
    )
    assert provider.releases(web) == []
    assert len(api.sent(ops.LIST_SERVICES)) == 2
    assert sleeps.calls == [7.0]


# deploy -----------------------------------------------------------------------------------
@pytest.fixture
def existing(api: RenderAPI) -> RenderAPI:
    """A service that runs OLD_IMAGE with a live deploy."""
    api.on(ops.LIST_SERVICES, services(service()))
    api.on(ops.LIST_ENV_VARS, env_vars({"LOG_LEVEL": "info"}))
    api.on(ops.UPDATE_ENV_VAR, lambda call: {"key": call.path.rsplit("/", 1)[1], **call.body})
    api.on(ops.LIST_DEPLOYS, deploys(deploy("dep-old", "live", image=OLD_IMAGE)))
    api.on(ops.CREATE_DEPLOY, reply(201, deploy("dep-new")))
    return api


def test_deploy_sends_one_deploy_of_the_pinned_image(
    existing: RenderAPI, provider, web, artifact
) -> None:
    started = provider.deploy(web, artifact, release_name="v1")

    assert started.id == "dep-new"
    assert started.url == SERVICE_URL
    assert started.state == "deploying"
    assert started.extra["service_id"] == SERVICE_ID
    assert started.extra["previous_deploy"] == "dep-old"
    (sent,) = existing.sent(ops.CREATE_DEPLOY)
    assert sent.body == {"imageUrl": IMAGE}
    assert existing.sent(ops.UPDATE_SERVICE) == []  # same repository, same health path
    (named,) = existing.sent(ops.UPDATE_ENV_VAR)
    assert named.path.endswith("/env-vars/SHIPIT_RELEASES")
    assert named.body == {"value": f'{{"{DIGEST}":"v1"}}'}
    assert existing.sent(ops.LIST_DEPLOYS)[0].params["status"] == ["live"]


def test_deploy_creates_a_missing_service_with_its_variables_in_one_call(
    api: RenderAPI, provider, web, artifact
) -> None:
    created = fixture("01")["response_body"]
    created["service"].update(service(image=IMAGE))
    api.on(ops.LIST_SERVICES, [])
    api.on(ops.CREATE_SERVICE, reply(201, created))

    applied = provider.set_env(web, {"LOG_LEVEL": "info", "API_KEY": Secret("s3cret")})
    started = provider.deploy(web, artifact, release_name="v1")

    assert applied.set == ("API_KEY", "LOG_LEVEL")
    assert applied.needs_deploy
    (sent,) = api.sent(ops.CREATE_SERVICE)
    assert sent.body == {
        "type": "web_service",
        "name": "staging-web",
        "ownerId": OWNER,
        "autoDeploy": "no",
        "image": {"ownerId": OWNER, "imagePath": IMAGE},
        "serviceDetails": {
            "runtime": "image",
            "healthCheckPath": "/health",
            "plan": "starter",
            "region": "frankfurt",
            "numInstances": 1,
        },
        "envVars": [
            {"key": "API_KEY", "value": "s3cret"},
            {"key": "LOG_LEVEL", "value": "info"},
            {"key": "SHIPIT_RELEASES", "value": f'{{"{DIGEST}":"v1"}}'},
        ],
    }
    assert started.id == created["deployId"]
    assert api.sent(ops.CREATE_DEPLOY) == []  # Render's first deploy is the one deploy
    assert api.sent(ops.UPDATE_ENV_VAR) == []


def test_a_service_on_another_repository_is_pointed_at_the_image_first(
    existing: RenderAPI, provider, web
) -> None:
    existing.on(ops.LIST_SERVICES, services(service(image="docker.io/library/nginx:latest")))
    existing.on(ops.UPDATE_SERVICE, lambda call: service(image=IMAGE))
    provider.deploy(web, Artifact(kind="image", ref=IMAGE, digest=DIGEST))

    (patch,) = existing.sent(ops.UPDATE_SERVICE)
    assert patch.body == {"image": {"ownerId": OWNER, "imagePath": IMAGE}}
    assert existing.names().index(ops.UPDATE_SERVICE.name) < existing.names().index(
        ops.CREATE_DEPLOY.name
    )
    assert len(existing.sent(ops.CREATE_DEPLOY)) == 1


def test_a_changed_health_path_and_start_command_are_patched(
    existing: RenderAPI, make_provider: MakeProvider, artifact
) -> None:
    existing.on(ops.LIST_SERVICES, services(service(health="")))
    existing.on(ops.UPDATE_SERVICE, lambda call: service())
    provider = make_provider()
    web = dataclasses.replace(provider.context.environment.services["web"], start="gunicorn app")
    provider.deploy(web, artifact)
    (patch,) = existing.sent(ops.UPDATE_SERVICE)
    assert patch.body == {
        "serviceDetails": {
            "healthCheckPath": "/health",
            "envSpecificDetails": {"dockerCommand": "gunicorn app"},
        }
    }


def test_a_queued_deploy_202_is_found_in_the_deploy_list(
    existing: RenderAPI, provider, web, artifact
) -> None:
    existing.on(ops.CREATE_DEPLOY, reply(202))
    existing.on(
        ops.LIST_DEPLOYS,
        deploys(deploy("dep-old", "live", image=OLD_IMAGE)),  # the live one, before
        deploys(
            deploy("dep-other", "build_in_progress", image=OLD_IMAGE, created="2026-08-21T10:01Z"),
            deploy("dep-old", "live", image=OLD_IMAGE),
        ),
        deploys(
            deploy("dep-queued", "queued", created="2026-08-21T10:02:00Z"),
            deploy("dep-other", "build_in_progress", image=OLD_IMAGE, created="2026-08-21T10:01Z"),
            deploy("dep-old", "live", image=OLD_IMAGE),
        ),
    )
    started = provider.deploy(web, artifact)
    assert started.id == "dep-queued"
    assert started.state == "queued"
    assert len(existing.sent(ops.CREATE_DEPLOY)) == 1


def test_a_refused_digest_url_falls_back_to_the_services_stored_image(
    existing: RenderAPI, provider, web, artifact
) -> None:
    existing.on(
        ops.CREATE_DEPLOY,
        reply(400, {"message": "invalid image URL"}),
        reply(201, deploy("dep-new")),
    )
    existing.on(ops.UPDATE_SERVICE, lambda call: service(image=IMAGE))

    started = provider.deploy(web, artifact)

    assert started.id == "dep-new"
    first, second = existing.sent(ops.CREATE_DEPLOY)
    assert first.body == {"imageUrl": IMAGE}
    assert second.body == {}
    (patch,) = existing.sent(ops.UPDATE_SERVICE)
    assert patch.body == {"image": {"ownerId": OWNER, "imagePath": IMAGE}}


def test_a_rate_limited_deploy_is_not_retried(
    existing: RenderAPI, provider, web, artifact, sleeps: Sleeps
) -> None:
    existing.on(ops.CREATE_DEPLOY, reply(429, {"message": "rate limited"}, {"Retry-After": "1"}))
    with pytest.raises(ProviderAPIError) as caught:
        provider.deploy(web, artifact)
    assert caught.value.exit_code == ExitCode.PROVIDER == 4
    assert caught.value.status == 429
    assert len(existing.sent(ops.CREATE_DEPLOY)) == 1
    assert sleeps.calls == []


def test_a_deploy_without_an_answer_is_not_repeated_and_says_what_to_check(
    existing: RenderAPI, provider, web, artifact
) -> None:
    def drop(call: Call) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    existing.on(ops.CREATE_DEPLOY, drop)
    with pytest.raises(ProviderAPIError) as caught:
        provider.deploy(web, artifact)
    assert len(existing.sent(ops.CREATE_DEPLOY)) == 1
    assert "shipit releases staging" in (caught.value.hint or "")


def test_a_suspended_service_is_resumed_before_the_deploy(
    existing: RenderAPI, provider, web, artifact
) -> None:
    existing.on(ops.LIST_SERVICES, services(service(suspended=True)))
    existing.on(ops.RESUME_SERVICE, reply(202))
    started = provider.deploy(web, artifact)
    assert existing.names().index("resume-service") < existing.names().index("create-deploy")
    assert "resumed" in str(started.extra["warning"])


def test_only_images_are_deployed(existing: RenderAPI, provider, web) -> None:
    with pytest.raises(UsageError):
        provider.deploy(web, Artifact(kind="bundle", ref="abc123"))
    with pytest.raises(UsageError, match="deploys images"):
        provider.build(web)
    assert provider.planned_artifact(web) is None


# health and settle ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("created", "pending"),
        ("queued", "pending"),
        ("update_in_progress", "pending"),
        ("pre_deploy_in_progress", "pending"),
        ("build_failed", "failed"),
        ("update_failed", "failed"),
        ("pre_deploy_failed", "failed"),
        ("canceled", "failed"),
    ],
)
def test_health_follows_the_deploy_status(
    api: RenderAPI, provider, web, artifact, status: str, state: str
) -> None:
    api.on(ops.RETRIEVE_DEPLOY, deploy("dep-new", status))
    result = provider.health(web, deploying(artifact))
    assert result.state == state
    assert status in result.detail
    (call,) = api.calls
    assert call.path == f"/v1/services/{SERVICE_ID}/deploys/dep-new"


def test_a_live_deploy_is_healthy_once_the_health_path_answers(
    api: RenderAPI, provider, web, artifact
) -> None:
    api.on(ops.RETRIEVE_DEPLOY, deploy("dep-new", "live"))
    probe = api.router.get(f"{SERVICE_URL}/health").mock(
        side_effect=[
            httpx.Response(503, text="starting"),
            httpx.Response(200, json={"status": "ok", "release": "v1"}),
        ]
    )
    first = provider.health(web, deploying(artifact))
    second = provider.health(web, deploying(artifact))
    assert (first.state, first.status_code) == ("pending", 503)
    assert (second.state, second.status_code, second.release) == ("healthy", 200, "v1")
    assert probe.call_count == 2
    assert "authorization" not in probe.calls[0].request.headers


def test_a_live_deploy_of_another_digest_fails(api: RenderAPI, provider, web, artifact) -> None:
    api.on(ops.RETRIEVE_DEPLOY, deploy("dep-new", "live", sha=OLD_DIGEST))
    result = provider.health(web, deploying(artifact))
    assert result.state == "failed"
    assert OLD_DIGEST in result.detail


def test_a_deploy_replaced_by_another_image_fails(api: RenderAPI, provider, web, artifact) -> None:
    api.on(ops.RETRIEVE_DEPLOY, deploy("dep-new", "deactivated"))
    api.on(ops.LIST_DEPLOYS, deploys(deploy("dep-later", "live", image=OLD_IMAGE)))
    result = provider.health(web, deploying(artifact))
    assert result.state == "failed"
    assert "dep-later" in result.detail


def test_the_service_url_template_replaces_render_urls(
    api: RenderAPI, provider, web, artifact, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert service_url(service()) == SERVICE_URL
    assert service_url(service() | {"type": "background_worker"}) is None
    monkeypatch.setenv("SHIPIT_RENDER_SERVICE_URL_TEMPLATE", "http://127.0.0.1:9/apps/{slug}/")
    assert service_url(service()) == "http://127.0.0.1:9/apps/staging-web"
    existing = api.on(ops.LIST_SERVICES, services(service()))
    existing.on(ops.LIST_ENV_VARS, [])
    existing.on(ops.LIST_DEPLOYS, deploys(deploy("dep-old", "live", image=OLD_IMAGE)))
    existing.on(ops.CREATE_DEPLOY, reply(201, deploy("dep-new")))
    assert provider.deploy(web, artifact).url == "http://127.0.0.1:9/apps/staging-web"
    monkeypatch.setenv("SHIPIT_RENDER_SERVICE_URL_TEMPLATE", "http://x/{nope}")
    with pytest.raises(UsageError, match="SHIPIT_RENDER_SERVICE_URL_TEMPLATE"):
        service_url(service())


def test_settle_cancels_a_deploy_still_in_progress(api: RenderAPI, provider, web, artifact) -> None:
    api.on(ops.RETRIEVE_DEPLOY, deploy("dep-new", "update_in_progress"))
    api.on(ops.CANCEL_DEPLOY, deploy("dep-new", "canceled"))
    provider.settle(web, deploying(artifact, previous_deploy="dep-old"), healthy=False)
    (cancel,) = api.sent(ops.CANCEL_DEPLOY)
    assert cancel.path.endswith("/deploys/dep-new/cancel")
    assert api.sent(ops.ROLLBACK_DEPLOY) == []


def test_settle_rolls_a_live_deploy_that_failed_the_gate_back(
    api: RenderAPI, provider, web, artifact
) -> None:
    api.on(ops.RETRIEVE_DEPLOY, deploy("dep-new", "live"))
    api.on(ops.ROLLBACK_DEPLOY, reply(201, deploy("dep-back", trigger="rollback")))
    provider.settle(web, deploying(artifact, previous_deploy="dep-old"), healthy=False)
    (rollback,) = api.sent(ops.ROLLBACK_DEPLOY)
    assert rollback.body == {"deployId": "dep-old"}


def test_settle_leaves_a_failed_deploy_and_a_healthy_one_alone(
    api: RenderAPI, provider, web, artifact
) -> None:
    provider.settle(web, deploying(artifact), healthy=True)
    assert api.calls == []
    api.on(ops.RETRIEVE_DEPLOY, deploy("dep-new", "update_failed"))
    provider.settle(web, deploying(artifact, previous_deploy="dep-old"), healthy=False)
    assert api.names() == ["retrieve-deploy"]
    api.on(ops.RETRIEVE_DEPLOY, reply(503, {"message": "unavailable"}))
    provider.settle(web, deploying(artifact), healthy=False)  # errors are swallowed


# env --------------------------------------------------------------------------------------
class Variables:
    """Render's variable endpoints over a dict (the replace-all PUT replaces everything)."""

    def __init__(self, api: RenderAPI, values: dict[str, str]) -> None:
        self.values = dict(values)
        api.on(ops.LIST_SERVICES, services(service()))
        api.on(ops.LIST_ENV_VARS, lambda call: self.page(call))
        api.on(ops.UPDATE_ENV_VAR, lambda call: self.put(call))
        api.on(ops.DELETE_ENV_VAR, lambda call: self.delete(call))

    def page(self, call: Call) -> list[dict[str, object]]:
        keys = sorted(self.values)
        if "cursor" in call.params:
            keys = [k for k in keys if f"c-{k}" > call.params["cursor"][0]]
        limit = int(call.params["limit"][0])
        return env_vars({k: self.values[k] for k in keys[:limit]})

    def put(self, call: Call) -> dict[str, str]:
        key = call.path.rsplit("/", 1)[1]
        self.values[key] = call.body["value"]
        return {"key": key, "value": call.body["value"]}

    def delete(self, call: Call) -> httpx.Response:
        key = call.path.rsplit("/", 1)[1]
        if self.values.pop(key, None) is None:
            return reply(404, {"message": f"not found: {key}"})
        return reply(204)


def test_set_env_writes_changed_keys_only_and_keeps_every_other_variable(
    api: RenderAPI, provider, web
) -> None:
    store = Variables(
        api,
        {
            "LOG_LEVEL": "debug",
            "API_KEY": "old",
            "SET_IN_DASHBOARD": "keep-me",
            "DATABASE_URL": "postgresql://u:p@dpg-x-a/db",
            "SHIPIT_RELEASES": "{}",
            "REMOVE_ME": "x",
        },
    )

    applied = provider.set_env(
        web,
        {"LOG_LEVEL": "info", "API_KEY": Secret("new"), "SAME": "s"} | {},
        unset=["REMOVE_ME", "NOT_THERE", "SHIPIT_RELEASES"],
    )

    assert applied.set == ("API_KEY", "LOG_LEVEL", "SAME")
    assert applied.unset == ("REMOVE_ME",)
    assert applied.needs_deploy
    assert store.values == {
        "LOG_LEVEL": "info",
        "API_KEY": "new",
        "SAME": "s",
        "SET_IN_DASHBOARD": "keep-me",
        "DATABASE_URL": "postgresql://u:p@dpg-x-a/db",
        "SHIPIT_RELEASES": "{}",
    }
    puts = [c.path.rsplit("/", 1)[1] for c in api.sent(ops.UPDATE_ENV_VAR)]
    assert puts == ["API_KEY", "LOG_LEVEL", "SAME"]
    assert [c.path.rsplit("/", 1)[1] for c in api.sent(ops.DELETE_ENV_VAR)] == ["REMOVE_ME"]
    assert all(not (c.method == "PUT" and c.path.endswith("/env-vars")) for c in api.calls)

    again = provider.set_env(web, {"LOG_LEVEL": "info"})
    assert again.set == () and not again.needs_deploy
    assert len(api.sent(ops.UPDATE_ENV_VAR)) == 3


def test_get_env_reads_every_page_wraps_secrets_and_hides_bookkeeping(
    api: RenderAPI, provider, web
) -> None:
    values = {f"VAR_{n:03d}": str(n) for n in range(130)}
    values |= {"API_KEY": "k", "DATABASE_URL": "postgresql://u:p@h/d", "SHIPIT_RELEASES": "{}"}
    Variables(api, values)

    env = provider.get_env(web)

    assert env is not None
    assert len(env) == 132
    assert env["VAR_129"] == "129"
    assert env["API_KEY"] == Secret("k")
    assert isinstance(env["DATABASE_URL"], Secret)
    assert "SHIPIT_RELEASES" not in env
    pages = api.sent(ops.LIST_ENV_VARS)
    assert [c.params.get("cursor") for c in pages] == [None, ["c-VAR_096"]]


def test_get_env_of_a_missing_service_is_none(api: RenderAPI, provider, web) -> None:
    api.on(ops.LIST_SERVICES, [])
    assert provider.get_env(web) is None


# link_db ----------------------------------------------------------------------------------
def test_link_db_creates_postgres_waits_and_writes_database_url(
    api: RenderAPI, provider, web, sleeps: Sleeps
) -> None:
    created = fixture("05")["response_body"]
    info = fixture("06")["response_body"]
    store = Variables(api, {"LOG_LEVEL": "info"})
    api.on(ops.LIST_POSTGRES, [])
    api.on(ops.CREATE_POSTGRES, reply(201, created))
    api.on(
        ops.RETRIEVE_POSTGRES,
        created | {"status": "creating"},
        created | {"status": "available"},
    )
    api.on(ops.POSTGRES_CONNECTION_INFO, info)

    link = provider.link_db(web)

    assert (link.kind, link.variable, link.created, link.written) == (
        "postgres",
        "DATABASE_URL",
        True,
        True,
    )
    (sent,) = api.sent(ops.CREATE_POSTGRES)
    assert sent.body == {
        "name": "staging-shop-db",
        "ownerId": OWNER,
        "plan": "basic_256mb",
        "version": "16",
        "region": "frankfurt",
    }
    assert sleeps.calls == [1.0, 2.0]
    assert store.values["DATABASE_URL"] == info["internalConnectionString"]
    assert store.values["LOG_LEVEL"] == "info"
    assert "REDACTED" not in link.description


def test_link_db_reuses_the_database_and_skips_an_unchanged_url(
    api: RenderAPI, provider, web
) -> None:
    database = fixture("05")["response_body"] | {"name": "staging-shop-db", "status": "available"}
    info = fixture("06")["response_body"]
    Variables(api, {"DATABASE_URL": info["internalConnectionString"]})
    api.on(ops.LIST_POSTGRES, [{"postgres": database, "cursor": "c1"}])
    api.on(ops.POSTGRES_CONNECTION_INFO, info)

    link = provider.link_db(web)

    assert (link.created, link.written) == (False, False)
    assert api.sent(ops.CREATE_POSTGRES) == []
    assert api.sent(ops.UPDATE_ENV_VAR) == []
    assert api.sent(ops.LIST_POSTGRES)[0].params["name"] == ["staging-shop-db"]


def test_link_db_before_the_service_exists_sends_the_url_with_the_create(
    api: RenderAPI, provider, web, artifact
) -> None:
    database = fixture("05")["response_body"] | {"name": "staging-shop-db", "status": "available"}
    info = fixture("06")["response_body"]
    api.on(ops.LIST_SERVICES, [])
    api.on(ops.LIST_POSTGRES, [{"postgres": database, "cursor": "c1"}])
    api.on(ops.POSTGRES_CONNECTION_INFO, info)
    api.on(ops.CREATE_SERVICE, reply(201, {"service": service(image=IMAGE), "deployId": "dep-1"}))

    provider.link_db(web)
    provider.deploy(web, artifact)

    (create,) = api.sent(ops.CREATE_SERVICE)
    assert {"key": "DATABASE_URL", "value": info["internalConnectionString"]} in create.body[
        "envVars"
    ]


def test_link_db_needs_postgres(provider, web) -> None:
    with pytest.raises(ConfigError, match="no 'sqlite' database"):
        provider.link_db(dataclasses.replace(web, database="sqlite"))


# logs -------------------------------------------------------------------------------------
def test_logs_read_the_newest_lines_backward_and_give_them_oldest_first(
    api: RenderAPI, provider, web
) -> None:
    api.on(ops.LIST_SERVICES, services(service()))
    api.on(
        ops.LIST_LOGS,
        logs_page(
            log_entry("third", "2026-08-21T10:00:03.000000003Z"),
            log_entry("second", "2026-08-21T10:00:02Z", level="warning"),
            more=True,
        ),
        logs_page(log_entry("first", "2026-08-21T10:00:01Z")),
    )

    lines = list(provider.logs(web, lines=3))

    assert [line.message for line in lines] == ["first", "second", "third"]
    assert {line.stream for line in lines} == {"runtime"}
    assert lines[1].level == "warning"
    first, second = api.sent(ops.LIST_LOGS)
    assert first.params["ownerId"] == [OWNER]
    assert first.params["resource"] == [SERVICE_ID]
    assert first.params["type"] == ["app"]
    assert first.params["direction"] == ["backward"]
    assert first.params["limit"] == ["3"]
    assert first.params["startTime"] == ["2026-08-14T10:30:00Z"]  # a week back from now
    assert second.params["startTime"] == ["2026-08-21T09:00:00Z"]
    assert second.params["endTime"] == ["2026-08-21T09:30:00Z"]


def test_logs_of_a_failed_deploy_cover_its_window_with_build_and_app_lines(
    api: RenderAPI, provider, web, artifact
) -> None:
    api.on(
        ops.RETRIEVE_DEPLOY,
        deploy("dep-new", "update_failed", finished="2026-08-21T10:05:00Z"),
    )
    api.on(
        ops.LIST_LOGS,
        logs_page(
            log_entry("Traceback: boom", "2026-08-21T10:01:00Z", level="error"),
            log_entry("Pulling image", "2026-08-21T10:00:10Z", kind="build"),
        ),
    )

    lines = list(provider.logs(web, lines=20, deployment=deploying(artifact)))

    assert [(line.stream, line.message) for line in lines] == [
        ("build", "Pulling image"),
        ("runtime", "Traceback: boom"),
    ]
    (call,) = api.sent(ops.LIST_LOGS)
    assert call.params["type"] == ["build", "app"]
    assert call.params["startTime"] == ["2026-08-21T10:00:00Z"]
    assert call.params["endTime"] == ["2026-08-21T10:05:30Z"]


def test_follow_polls_forward_and_never_repeats_a_line(
    api: RenderAPI, make_provider: MakeProvider, sleeps: Sleeps
) -> None:
    provider = make_provider()
    web = provider.context.environment.services["web"]
    api.on(ops.LIST_SERVICES, services(service()))
    old = log_entry("old", "2026-08-21T10:00:00Z")
    new = log_entry("new", "2026-08-21T10:00:05Z")
    newer = log_entry("newer", "2026-08-21T10:00:09Z")
    api.on(ops.LIST_LOGS, logs_page(old), logs_page(old, new), logs_page(new, newer))

    stream = provider.logs(web, follow=True)
    got = [next(stream).message for _ in range(3)]
    stream.close()

    assert got == ["old", "new", "newer"]
    polls = api.sent(ops.LIST_LOGS)[1:]
    assert all(c.params["direction"] == ["forward"] for c in polls)
    assert polls[1].params["startTime"] == ["2026-08-21T10:00:05Z"]
    assert sleeps.calls == [0.25]


def test_logs_of_a_missing_service_are_a_usage_error(api: RenderAPI, provider, web) -> None:
    api.on(ops.LIST_SERVICES, [])
    with pytest.raises(UsageError, match="staging-web"):
        list(provider.logs(web))


# releases, redeploy, status, stop ---------------------------------------------------------
def test_releases_are_newest_first_with_digests_and_names_from_render(
    api: RenderAPI, provider, web
) -> None:
    api.on(ops.LIST_SERVICES, services(service()))
    api.on(
        ops.LIST_DEPLOYS,
        deploys(
            deploy("dep-1", "deactivated", image=OLD_IMAGE, created="2026-08-20T10:00:00Z"),
            deploy(
                "dep-3",
                "live",
                image="ghcr.io/acme/web:v2",
                sha=DIGEST,
                created="2026-08-22T10:00:00Z",
            ),
            deploy("dep-2", "update_failed", created="2026-08-21T10:00:00Z"),
        ),
    )
    api.on(ops.LIST_ENV_VARS, env_vars({"SHIPIT_RELEASES": f'{{"{DIGEST}":"v2"}}'}))

    found = provider.releases(web)

    assert [r.id for r in found] == ["dep-3", "dep-2", "dep-1"]
    assert [r.live for r in found] == [True, False, False]
    assert [r.state for r in found] == ["live", "failed", "stopped"]
    assert found[0].artifact == Artifact(kind="image", ref=IMAGE, digest=DIGEST, tag="v2")
    assert found[0].name == "v2"
    assert found[0].created_at == datetime(2026, 8, 22, 10, tzinfo=UTC)
    assert found[2].artifact.ref == OLD_IMAGE
    assert found[2].name is None
    assert api.sent(ops.LIST_DEPLOYS)[0].params["limit"] == ["50"]


def release(deploy_id: str, image: str, *, live: bool = False, name: str | None = None) -> Release:
    digest = image.split("@", 1)[1]
    return Release(
        id=deploy_id,
        service="web",
        artifact=Artifact(kind="image", ref=image, digest=digest),
        created_at=datetime(2026, 8, 20, tzinfo=UTC),
        name=name,
        live=live,
    )


def test_rollback_uses_renders_rollback_endpoint(existing: RenderAPI, provider, web) -> None:
    existing.on(ops.ROLLBACK_DEPLOY, reply(201, deploy("dep-back", "created", image=OLD_IMAGE)))
    started = provider.redeploy(web, release("dep-old", OLD_IMAGE, name="v0"))
    (sent,) = existing.sent(ops.ROLLBACK_DEPLOY)
    assert sent.body == {"deployId": "dep-old"}
    assert started.id == "dep-back"
    assert started.release_name == "v0"
    assert existing.sent(ops.CREATE_DEPLOY) == []


def test_a_refused_rollback_deploys_the_earlier_image_instead(
    existing: RenderAPI, provider, web
) -> None:
    existing.on(ops.ROLLBACK_DEPLOY, reply(400, {"message": "deploy is too old"}))
    existing.on(ops.CREATE_DEPLOY, reply(201, deploy("dep-new", image=OLD_IMAGE)))
    started = provider.redeploy(web, release("dep-ancient", OLD_IMAGE))
    (sent,) = existing.sent(ops.CREATE_DEPLOY)
    assert sent.body == {"imageUrl": OLD_IMAGE}
    assert started.id == "dep-new"


def test_redeploying_the_live_release_deploys_its_image_again(
    existing: RenderAPI, provider, web
) -> None:
    provider.redeploy(web, release("dep-old", OLD_IMAGE, live=True))
    assert existing.sent(ops.ROLLBACK_DEPLOY) == []
    (sent,) = existing.sent(ops.CREATE_DEPLOY)
    assert sent.body == {"imageUrl": OLD_IMAGE}


def test_status_reports_the_live_release_and_probes_it(api: RenderAPI, provider, web) -> None:
    api.on(ops.LIST_SERVICES, services(service(image=IMAGE)))
    api.on(ops.LIST_DEPLOYS, deploys(deploy("dep-new", "live", finished="2026-08-21T10:03Z")))
    api.on(ops.LIST_ENV_VARS, env_vars({"SHIPIT_RELEASES": f'{{"{DIGEST}":"v1"}}'}))
    api.router.get(f"{SERVICE_URL}/health").respond(200, json={"status": "ok"})

    found = provider.status(web)

    assert (found.state, found.healthy, found.url) == ("running", True, SERVICE_URL)
    assert (found.release, found.release_name) == (IMAGE, "v1")


def test_stop_suspends_and_status_says_stopped(api: RenderAPI, provider, web) -> None:
    api.on(ops.LIST_SERVICES, services(service()))
    api.on(ops.SUSPEND_SERVICE, reply(202))
    provider.stop(web)
    provider.stop(web)  # already suspended: nothing more
    assert len(api.sent(ops.SUSPEND_SERVICE)) == 1
    api.on(ops.LIST_DEPLOYS, deploys(deploy("dep-old", "live", image=OLD_IMAGE)))
    api.on(ops.LIST_ENV_VARS, [])
    assert provider.status(web).state == "stopped"


def test_status_of_a_missing_service_is_unknown(api: RenderAPI, provider, web) -> None:
    api.on(ops.LIST_SERVICES, [])
    assert provider.status(web).state == "unknown"
    assert provider.releases(web) == []
