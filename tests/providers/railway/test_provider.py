"""The Railway adapter against real-shaped answers (respx); every request is schema-checked."""

from __future__ import annotations

import dataclasses
import gzip
import io
import itertools
import json
import tarfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from tests.providers.support import Sleeps

from shipit.errors import AuthError, ConfigError, ExitCode, ProviderAPIError, UsageError
from shipit.http import GraphQLResponseError
from shipit.providers.base import Artifact, Capability, Deployment, Release
from shipit.providers.railway import RailwayProvider
from shipit.providers.railway.client import graphql_url
from shipit.sensitive import Secret

from .conftest import (
    DIGEST,
    DOMAIN,
    IMAGE,
    OLD_IMAGE,
    POSTGRES,
    PROJECT,
    STAGING,
    WEB,
    RailwayAPI,
    deployment,
    deployment_node,
    deployments,
    empty_postgres_template,
    graphql_error,
    log,
    project,
    project_token,
    projects_page,
    service_instance,
)

MakeProvider = Callable[..., RailwayProvider]


def deploying(artifact: Artifact, deployment_id: str = "dep-new") -> Deployment:
    return Deployment(
        id=deployment_id,
        service="web",
        artifact=artifact,
        url=f"https://{DOMAIN}",
        extra={"service_id": WEB},
    )


# credentials and names --------------------------------------------------------------------
def test_no_token_is_an_auth_error_naming_both_variables(make_provider: MakeProvider) -> None:
    with pytest.raises(AuthError) as caught:
        make_provider(token=None)
    assert caught.value.exit_code == ExitCode.AUTH
    hint = caught.value.hint or ""
    assert "RAILWAY_API_TOKEN" in hint
    assert "RAILWAY_TOKEN" in hint
    assert "shipit login railway" in hint


def test_an_account_token_goes_in_the_bearer_header(resolved: RailwayAPI, provider, web) -> None:
    resolved.on("ShipitDeployments", deployments())
    assert provider.releases(web) == []
    assert resolved.names() == ["ShipitProjects", "ShipitProject", "ShipitDeployments"]
    headers = resolved.calls[0].headers
    assert headers["authorization"] == "Bearer tok-acct-1234"
    assert "project-access-token" not in headers
    assert headers["user-agent"].startswith("shipit/")
    assert resolved.sent("ShipitProjects")[0] == {"first": 100}


def test_a_project_token_goes_in_its_own_header(
    api: RailwayAPI, make_provider: MakeProvider
) -> None:
    api.on("ShipitProjectToken", project_token())
    api.on("ShipitProject", project())
    api.on("ShipitDeployments", deployments())
    provider = make_provider(token="ptok-5678", kind="project")
    assert provider.releases(provider.context.environment.services["web"]) == []
    headers = api.calls[0].headers
    assert headers["project-access-token"] == "ptok-5678"
    assert "authorization" not in headers
    assert api.sent("ShipitDeployments")[0]["input"]["environmentId"] == STAGING


def test_a_project_token_of_another_project_is_a_config_error(
    api: RailwayAPI, make_provider: MakeProvider
) -> None:
    api.on("ShipitProjectToken", project_token("other-id", "blog"))
    provider = make_provider(token="ptok-5678", kind="project")
    with pytest.raises(ConfigError, match="RAILWAY_TOKEN belongs to project 'blog'"):
        provider.resolver.target()


def test_a_project_id_is_used_without_listing_projects(
    api: RailwayAPI, make_provider: MakeProvider
) -> None:
    api.on("ShipitProject", project())
    provider = make_provider(project_name=PROJECT)
    assert provider.resolver.target().environment_id == STAGING
    assert api.names() == ["ShipitProject"]


def test_a_missing_environment_names_the_ones_there_are(
    api: RailwayAPI, make_provider: MakeProvider
) -> None:
    api.on("ShipitProjects", projects_page("shop"))
    api.on("ShipitProject", project(with_staging=False))
    provider = make_provider()
    with pytest.raises(ConfigError) as caught:
        provider.resolver.target()
    assert "has no environment 'staging' (it has: production)" in str(caught.value)
    assert "environments.staging.railway.environment" in str(caught.value)


def test_an_environment_the_token_cannot_access_is_an_auth_error(
    api: RailwayAPI, make_provider: MakeProvider
) -> None:
    api.on("ShipitProjects", projects_page("shop"))
    api.on("ShipitProject", project(can_access=False))
    with pytest.raises(AuthError):
        make_provider().resolver.target()


def test_an_unknown_project_is_a_config_error(api: RailwayAPI, make_provider: MakeProvider) -> None:
    api.on("ShipitProjects", projects_page("blog"))
    api.on("ShipitMe", {"me": {"id": "u1", "workspaces": [{"id": "w1", "name": "Acme"}]}})
    with pytest.raises(ConfigError, match="no Railway project named 'shop'"):
        make_provider().resolver.target()


def test_the_api_url_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPIT_RAILWAY_API_URL", "http://127.0.0.1:4000")
    assert graphql_url() == "http://127.0.0.1:4000/graphql/v2"
    monkeypatch.setenv("SHIPIT_RAILWAY_API_URL", "http://127.0.0.1:4000/custom/gql")
    assert graphql_url() == "http://127.0.0.1:4000/custom/gql"


# deploy -----------------------------------------------------------------------------------
@pytest.fixture
def deployable(resolved: RailwayAPI) -> RailwayAPI:
    resolved.on("ShipitVariables", {"variables": {"LOG_LEVEL": "info"}})
    resolved.on("ShipitVariableCollectionUpsert", {"variableCollectionUpsert": True})
    resolved.on("ShipitServiceInstance", service_instance())
    resolved.on("ShipitServiceInstanceUpdate", {"serviceInstanceUpdate": True})
    resolved.on("ShipitServiceInstanceDeploy", {"serviceInstanceDeployV2": "dep-new"})
    return resolved


def test_deploy_points_the_instance_at_the_image_then_deploys_once(
    deployable: RailwayAPI, provider, web, artifact
) -> None:
    started = provider.deploy(web, artifact, release_name="v1")

    assert started.id == "dep-new"
    assert started.url == f"https://{DOMAIN}"
    assert started.release_name == "v1"
    assert deployable.names()[-3:] == [
        "ShipitServiceInstance",
        "ShipitServiceInstanceUpdate",
        "ShipitServiceInstanceDeploy",
    ]
    (update,) = deployable.sent("ShipitServiceInstanceUpdate")
    assert update == {
        "serviceId": WEB,
        "environmentId": STAGING,
        "input": {
            "source": {"image": IMAGE},
            "healthcheckPath": "/health",
            "healthcheckTimeout": 45,
            "numReplicas": 1,
        },
    }
    assert deployable.sent("ShipitServiceInstanceDeploy") == [
        {"environmentId": STAGING, "serviceId": WEB}
    ]
    (named,) = deployable.sent("ShipitVariableCollectionUpsert")
    assert named["input"]["skipDeploys"] is True
    assert json.loads(named["input"]["variables"]["SHIPIT_RELEASES"]) == {DIGEST: "v1"}


def test_a_release_name_already_recorded_is_not_written_again(
    deployable: RailwayAPI, provider, web, artifact
) -> None:
    deployable.on("ShipitVariables", {"variables": {"SHIPIT_RELEASES": json.dumps({DIGEST: "v1"})}})
    provider.deploy(web, artifact, release_name="v1")
    assert deployable.sent("ShipitVariableCollectionUpsert") == []


def test_a_rate_limited_deploy_is_not_retried_and_the_source_is_restored(
    deployable: RailwayAPI, provider, web, artifact, sleeps: Sleeps
) -> None:
    deployable.on("ShipitServiceInstanceDeploy", httpx.Response(429, headers={"Retry-After": "1"}))
    with pytest.raises(ProviderAPIError) as caught:
        provider.deploy(web, artifact)
    assert caught.value.status == 429
    assert caught.value.exit_code == ExitCode.PROVIDER
    assert len(deployable.sent("ShipitServiceInstanceDeploy")) == 1
    assert sleeps.calls == []
    updates = deployable.sent("ShipitServiceInstanceUpdate")
    assert [u["input"]["source"]["image"] for u in updates] == [IMAGE, OLD_IMAGE]


def test_a_deploy_without_an_answer_says_it_may_have_started(
    deployable: RailwayAPI, provider, web, artifact
) -> None:
    def no_answer(variables: dict) -> dict:
        raise httpx.ReadTimeout("timed out")

    deployable.on("ShipitServiceInstanceDeploy", no_answer)
    with pytest.raises(ProviderAPIError) as caught:
        provider.deploy(web, artifact)
    assert "may have started" in (caught.value.hint or "")
    assert len(deployable.sent("ShipitServiceInstanceDeploy")) == 1


def test_a_graphql_error_with_http_200_is_a_provider_error(
    deployable: RailwayAPI, provider, web, artifact
) -> None:
    deployable.on("ShipitServiceInstanceDeploy", graphql_error("Service instance has no source"))
    with pytest.raises(GraphQLResponseError) as caught:
        provider.deploy(web, artifact)
    assert str(caught.value) == "railway API: Service instance has no source (request id 4b1c0de5)"
    assert caught.value.exit_code == ExitCode.PROVIDER


def test_reads_are_retried_after_429_honouring_retry_after(
    resolved: RailwayAPI, provider, web, sleeps: Sleeps
) -> None:
    resolved.on(
        "ShipitProjects",
        httpx.Response(429, headers={"Retry-After": "3"}),
        projects_page("shop"),
    )
    resolved.on("ShipitDeployments", deployments())
    provider.releases(web)
    assert resolved.names()[:3] == ["ShipitProjects", "ShipitProjects", "ShipitProject"]
    assert sleeps.calls == [3.0]


def test_http_401_is_an_auth_error(api: RailwayAPI, provider, web) -> None:
    api.on("ShipitProjects", httpx.Response(401, json={"message": "Unauthorized"}))
    with pytest.raises(AuthError) as caught:
        provider.releases(web)
    assert caught.value.exit_code == 3
    assert "RAILWAY_API_TOKEN" in (caught.value.hint or "")


def test_not_authorized_in_graphql_errors_is_an_auth_error(api: RailwayAPI, provider, web) -> None:
    api.on("ShipitProjects", graphql_error("Not Authorized"))
    with pytest.raises(AuthError, match="railway refused the token: Not Authorized"):
        provider.releases(web)


def test_a_local_bundle_cannot_be_deployed(provider, web) -> None:
    with pytest.raises(UsageError, match="local release bundle"):
        provider.deploy(web, Artifact(kind="bundle", ref="b-123"))


# env --------------------------------------------------------------------------------------
def test_set_env_writes_every_change_in_one_call_and_deletes_only_unset_names(
    resolved: RailwayAPI, provider, web
) -> None:
    resolved.on("ShipitVariables", {"variables": {"LOG_LEVEL": "info", "OLD": "x"}})
    resolved.on("ShipitVariableCollectionUpsert", {"variableCollectionUpsert": True})
    resolved.on("ShipitVariableDelete", {"variableDelete": True})

    applied = provider.set_env(
        web,
        {"LOG_LEVEL": "info", "API_KEY": Secret("s3cr3t-value"), "NEW": "1"},
        unset=["OLD", "GONE"],
    )

    (upsert,) = resolved.sent("ShipitVariableCollectionUpsert")
    assert upsert["input"] == {
        "projectId": PROJECT,
        "environmentId": STAGING,
        "serviceId": WEB,
        "variables": {"API_KEY": "s3cr3t-value", "NEW": "1"},
        "skipDeploys": True,
    }
    assert [d["input"]["name"] for d in resolved.sent("ShipitVariableDelete")] == ["OLD"]
    assert applied.set == ("API_KEY", "NEW")
    assert applied.unset == ("OLD",)
    assert applied.needs_deploy is True


def test_set_env_with_nothing_changed_sends_no_write(resolved: RailwayAPI, provider, web) -> None:
    resolved.on("ShipitVariables", {"variables": {"LOG_LEVEL": "info"}})
    applied = provider.set_env(web, {"LOG_LEVEL": "info"}, unset=["NOT_THERE"])
    assert applied.needs_deploy is False
    assert resolved.names() == ["ShipitProjects", "ShipitProject", "ShipitVariables"]


def test_set_env_creates_the_service_on_first_use(api: RailwayAPI, provider, web) -> None:
    api.on("ShipitProjects", projects_page("shop"))
    api.on("ShipitProject", project(("worker", "w-1")))
    api.on(
        "ShipitServiceCreate", {"serviceCreate": {"id": WEB, "name": "web", "projectId": PROJECT}}
    )
    api.on("ShipitVariables", {"variables": {}})
    api.on("ShipitVariableCollectionUpsert", {"variableCollectionUpsert": True})
    provider.set_env(web, {"A": "1"})
    assert api.sent("ShipitServiceCreate") == [
        {"input": {"projectId": PROJECT, "name": "web", "environmentId": STAGING}}
    ]
    assert api.sent("ShipitVariableCollectionUpsert")[0]["input"]["serviceId"] == WEB


def test_get_env_wraps_secrets_and_hides_bookkeeping(resolved: RailwayAPI, provider, web) -> None:
    resolved.on(
        "ShipitVariables",
        {
            "variables": {
                "API_KEY": "k-123",
                "LOG_LEVEL": "info",
                "DATABASE_URL": "${{Postgres.DATABASE_URL}}",
                "SHIPIT_RELEASES": "{}",
                "SEALED": None,
            }
        },
    )
    values = provider.get_env(web)
    assert values is not None
    assert isinstance(values["API_KEY"], Secret)
    assert values["API_KEY"].reveal() == "k-123"
    assert values["LOG_LEVEL"] == "info"
    assert values["DATABASE_URL"] == "${{Postgres.DATABASE_URL}}"
    assert set(values) == {"API_KEY", "LOG_LEVEL", "DATABASE_URL"}
    assert resolved.sent("ShipitVariables")[0]["unrendered"] is True


def test_get_env_of_a_service_that_does_not_exist_is_none(api: RailwayAPI, provider, web) -> None:
    api.on("ShipitProjects", projects_page("shop"))
    api.on("ShipitProject", project(("worker", "w-1")))
    assert provider.get_env(web) is None


# link_db ----------------------------------------------------------------------------------
def test_link_db_reuses_the_environments_postgres(resolved: RailwayAPI, provider, web) -> None:
    resolved.on("ShipitProject", project(("web", WEB), ("Postgres", POSTGRES)))
    resolved.on(
        "ShipitServiceInstance",
        service_instance(image="ghcr.io/railwayapp-templates/postgres-ssl:17"),
    )
    resolved.on("ShipitVariableCollectionUpsert", {"variableCollectionUpsert": True})

    link = provider.link_db(web)

    assert link.created is False
    assert link.written is True
    assert link.variable == "DATABASE_URL"
    (upsert,) = resolved.sent("ShipitVariableCollectionUpsert")
    assert upsert["input"]["serviceId"] == WEB
    assert upsert["input"]["variables"] == {"DATABASE_URL": "${{Postgres.DATABASE_URL}}"}
    assert upsert["input"]["skipDeploys"] is True
    assert "ShipitTemplateDeploy" not in resolved.names()


def test_link_db_deploys_the_postgres_template_when_there_is_none(
    api: RailwayAPI, provider, web, sleeps: Sleeps
) -> None:
    api.on("ShipitProjects", projects_page("shop"))
    api.on("ShipitProject", project(), project(("web", WEB), ("Postgres-x1Yz", POSTGRES)))
    config = {
        "services": {
            "svc-1": {
                "name": "Postgres",
                "source": {"image": "ghcr.io/railwayapp-templates/postgres-ssl:17"},
                "variables": {
                    "PGUSER": {"defaultValue": "postgres"},
                    "POSTGRES_PASSWORD": {"defaultValue": "${{ secret(32) }}"},
                    "OPTIONAL_ONE": {"isOptional": True},
                },
                "volumeMounts": {"v": {"mountPath": "/var/lib/postgresql/data"}},
            }
        }
    }
    api.on(
        "ShipitTemplate",
        {
            "template": {
                "id": "tpl-1",
                "code": "postgres",
                "name": "PostgreSQL",
                "serializedConfig": config,
            }
        },
    )
    api.on(
        "ShipitTemplateDeploy", {"templateDeployV2": {"projectId": PROJECT, "workflowId": "wf-1"}}
    )
    api.on(
        "ShipitWorkflowStatus",
        {"workflowStatus": {"status": "Running", "error": None}},
        {"workflowStatus": {"status": "Complete", "error": None}},
    )
    api.on("ShipitVariableCollectionUpsert", {"variableCollectionUpsert": True})

    link = provider.link_db(web)

    assert link.created is True
    (deployed,) = api.sent("ShipitTemplateDeploy")
    sent_config = deployed["input"]["serializedConfig"]["services"]["svc-1"]
    assert sent_config["variables"]["PGUSER"]["value"] == "postgres"
    assert sent_config["variables"]["POSTGRES_PASSWORD"]["value"] == "${{ secret(32) }}"
    assert "value" not in sent_config["variables"]["OPTIONAL_ONE"]
    assert sent_config["volumeMounts"] == config["services"]["svc-1"]["volumeMounts"]
    assert deployed["input"]["environmentId"] == STAGING
    assert sleeps.calls == [1.0]
    (upsert,) = api.sent("ShipitVariableCollectionUpsert")
    assert upsert["input"]["variables"] == {"DATABASE_URL": "${{Postgres-x1Yz.DATABASE_URL}}"}


def test_link_db_reports_a_failed_template_workflow(api: RailwayAPI, provider, web) -> None:
    api.on("ShipitProjects", projects_page("shop"))
    api.on("ShipitProject", project())
    api.on("ShipitTemplate", empty_postgres_template())
    api.on("ShipitTemplateDeploy", {"templateDeployV2": {"projectId": PROJECT, "workflowId": "wf"}})
    api.on(
        "ShipitWorkflowStatus", {"workflowStatus": {"status": "Error", "error": "quota exceeded"}}
    )
    with pytest.raises(ProviderAPIError, match="creating Postgres failed: quota exceeded"):
        provider.link_db(web)


def test_link_db_refuses_sqlite(provider, web) -> None:
    with pytest.raises(ConfigError, match="no 'sqlite' database"):
        provider.link_db(dataclasses.replace(web, database="sqlite"))


# health and settle ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "status", ["INITIALIZING", "QUEUED", "WAITING", "BUILDING", "DEPLOYING", "NEEDS_APPROVAL"]
)
def test_health_is_pending_while_railway_works(
    api: RailwayAPI, provider, web, artifact, status: str
) -> None:
    api.on("ShipitDeployment", deployment(status=status))
    result = provider.health(web, deploying(artifact))
    assert result.state == "pending"
    assert status.lower() in result.detail


@pytest.mark.parametrize("status", ["FAILED", "CRASHED", "REMOVED", "REMOVING", "SKIPPED"])
def test_health_fails_on_terminal_states(
    api: RailwayAPI, provider, web, artifact, status: str
) -> None:
    api.on("ShipitDeployment", deployment(status=status))
    api.on(
        "ShipitDeploymentEvents",
        {
            "deploymentEvents": {
                "edges": [
                    {
                        "node": {
                            "id": "ev-1",
                            "step": "HEALTHCHECK",
                            "createdAt": "2026-08-21T10:00:00Z",
                            "completedAt": "2026-08-21T10:05:00Z",
                            "payload": {
                                "error": "healthcheck failed",
                                "reason": None,
                                "detail": None,
                            },
                        }
                    }
                ]
            }
        },
    )
    result = provider.health(web, deploying(artifact))
    assert result.state == "failed"
    assert result.detail == f"Railway deployment {status} at healthcheck: healthcheck failed"


def test_health_probes_the_health_path_on_the_domain_once_railway_says_success(
    api: RailwayAPI, provider, web, artifact
) -> None:
    api.on("ShipitDeployment", deployment(status="SUCCESS"))
    probe = api.router.get(f"https://{DOMAIN}/health").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"release": "v1"})]
    )

    first = provider.health(web, deploying(artifact))
    second = provider.health(web, deploying(artifact))

    assert (first.state, first.status_code) == ("pending", 503)
    assert (second.state, second.release) == ("healthy", "v1")
    assert probe.call_count == 2
    assert "authorization" not in probe.calls.last.request.headers  # no token to the app


def test_health_fails_when_railway_ran_another_image(
    api: RailwayAPI, provider, web, artifact
) -> None:
    api.on("ShipitDeployment", deployment(status="SUCCESS", image=OLD_IMAGE))
    result = provider.health(web, deploying(artifact))
    assert result.state == "failed"
    assert OLD_IMAGE in result.detail


def test_health_fails_when_the_process_exited(api: RailwayAPI, provider, web, artifact) -> None:
    api.on("ShipitDeployment", deployment(status="SUCCESS", stopped=True))
    assert provider.health(web, deploying(artifact)).state == "failed"


def test_health_without_a_domain_trusts_railways_own_check(
    api: RailwayAPI, provider, web, artifact
) -> None:
    node = deployment(status="SUCCESS")
    node["deployment"]["staticUrl"] = None
    api.on("ShipitDeployment", node)
    started = dataclasses.replace(deploying(artifact), url=None)
    result = provider.health(web, started)
    assert result.state == "healthy"
    assert "no public domain" in result.detail


def test_settle_when_healthy_sends_nothing(api: RailwayAPI, provider, web, artifact) -> None:
    provider.settle(web, deploying(artifact), healthy=True)
    assert api.calls == []


@pytest.mark.parametrize(
    ("status", "mutation"),
    [("BUILDING", "ShipitDeploymentCancel"), ("DEPLOYING", "ShipitDeploymentRemove")],
)
def test_settle_stops_a_deployment_that_could_still_go_live(
    resolved: RailwayAPI, provider, web, artifact, status: str, mutation: str
) -> None:
    resolved.on("ShipitDeployment", deployment(status=status))
    resolved.on("ShipitDeploymentCancel", {"deploymentCancel": True})
    resolved.on("ShipitDeploymentRemove", {"deploymentRemove": True})
    resolved.on("ShipitServiceInstance", service_instance(image=OLD_IMAGE))
    provider.settle(web, deploying(artifact), healthy=False)
    assert resolved.sent(mutation) == [{"id": "dep-new"}]


def test_settle_after_a_failure_points_the_service_back_at_what_serves(
    resolved: RailwayAPI, provider, web, artifact
) -> None:
    resolved.on("ShipitDeployment", deployment(status="FAILED"))
    instance = service_instance(image=OLD_IMAGE)
    instance["serviceInstance"]["source"]["image"] = IMAGE  # what the failed deploy set
    resolved.on("ShipitServiceInstance", instance)
    resolved.on("ShipitServiceInstanceUpdate", {"serviceInstanceUpdate": True})
    provider.settle(web, deploying(artifact), healthy=False)
    (update,) = resolved.sent("ShipitServiceInstanceUpdate")
    assert update["input"] == {"source": {"image": OLD_IMAGE}}
    assert "ShipitDeploymentCancel" not in resolved.names()


# logs -------------------------------------------------------------------------------------
def test_logs_keep_only_the_lines_asked_for(resolved: RailwayAPI, provider, web, artifact) -> None:
    lines = [log(f"step {n}", f"2026-08-21T10:00:0{n}.000000001Z") for n in range(4)]
    resolved.on("ShipitBuildLogs", {"buildLogs": lines})  # the API answers limit + 1 lines

    shown = list(provider.logs(web, lines=3, build=True, deployment=deploying(artifact)))

    assert [line.message for line in shown] == ["step 1", "step 2", "step 3"]
    assert {line.stream for line in shown} == {"build"}
    assert resolved.sent("ShipitBuildLogs") == [{"deploymentId": "dep-new", "limit": 3}]


def test_runtime_logs_of_a_deployment_that_never_ran_are_its_build_logs(
    resolved: RailwayAPI, provider, web, artifact
) -> None:
    resolved.on("ShipitDeploymentLogs", {"deploymentLogs": []})
    resolved.on(
        "ShipitBuildLogs", {"buildLogs": [log("manifest unknown", "2026-08-21T10:00:00Z", "error")]}
    )
    (line,) = provider.logs(web, lines=20, deployment=deploying(artifact))
    assert (line.stream, line.message, line.level) == ("build", "manifest unknown", "error")


def test_logs_default_to_the_live_deployment(resolved: RailwayAPI, provider, web) -> None:
    resolved.on(
        "ShipitDeployments",
        deployments(
            deployment_node("dep-live", created="2026-08-21T09:00:00Z"),
            deployment_node("dep-failed", "FAILED", created="2026-08-21T10:00:00Z"),
        ),
    )
    resolved.on("ShipitDeploymentLogs", {"deploymentLogs": [log("hello", "2026-08-21T10:00:00Z")]})
    assert [line.message for line in provider.logs(web)] == ["hello"]
    assert resolved.sent("ShipitDeploymentLogs")[0]["deploymentId"] == "dep-live"


def test_follow_polls_from_the_last_line_without_repeating_it(
    resolved: RailwayAPI, provider, web, artifact, sleeps: Sleeps
) -> None:
    one = log("one", "2026-08-21T10:00:00.000000001Z")
    two = log("two", "2026-08-21T10:00:00.000000002Z")
    three = log("three", "2026-08-21T10:00:01Z")
    resolved.on(
        "ShipitDeploymentLogs",
        {"deploymentLogs": [one]},
        {"deploymentLogs": [one]},
        {"deploymentLogs": [one, two]},
        {"deploymentLogs": [two, three]},
    )
    stream = provider.logs(web, follow=True, deployment=deploying(artifact))
    shown = [line.message for line in itertools.islice(stream, 3)]
    assert shown == ["one", "two", "three"]
    starts = [v.get("startDate") for v in resolved.sent("ShipitDeploymentLogs")]
    assert starts == [None, one["timestamp"], one["timestamp"], two["timestamp"]]
    assert sleeps.calls == [0.25, 0.25]


def test_following_build_logs_ends_when_the_build_is_over(
    resolved: RailwayAPI, provider, web, artifact
) -> None:
    resolved.on(
        "ShipitBuildLogs",
        {"buildLogs": [log("a", "2026-08-21T10:00:00Z")]},
        {"buildLogs": [log("a", "2026-08-21T10:00:00Z"), log("b", "2026-08-21T10:00:01Z")]},
    )
    resolved.on("ShipitDeployment", deployment(status="DEPLOYING"))
    lines = list(provider.logs(web, follow=True, build=True, deployment=deploying(artifact)))
    assert [line.message for line in lines] == ["a", "b"]


def test_logs_of_nothing_deployed_say_how_to_deploy(resolved: RailwayAPI, provider, web) -> None:
    resolved.on("ShipitDeployments", deployments())
    with pytest.raises(UsageError, match="nothing is deployed") as caught:
        list(provider.logs(web))
    assert caught.value.hint == "shipit deploy staging"


# releases, redeploy, status, stop ---------------------------------------------------------
def test_releases_are_newest_first_with_names_and_the_live_one(
    resolved: RailwayAPI, provider, web
) -> None:
    resolved.on(
        "ShipitDeployments",
        deployments(
            deployment_node("d1", "REMOVED", image=OLD_IMAGE, created="2026-08-20T10:00:00Z"),
            deployment_node("d3", "FAILED", image=IMAGE, created="2026-08-22T10:00:00Z"),
            deployment_node("d2", "SUCCESS", image=IMAGE, created="2026-08-21T10:00:00Z"),
            deployment_node("d0", "REMOVED", image=None, created="2026-08-19T10:00:00Z"),
        ),
    )
    resolved.on("ShipitVariables", {"variables": {"SHIPIT_RELEASES": json.dumps({DIGEST: "v2"})}})

    releases = provider.releases(web)

    assert [r.id for r in releases] == ["d3", "d2", "d1", "d0"]
    assert [r.live for r in releases] == [False, True, False, False]
    assert [r.state for r in releases] == ["failed", "live", "stopped", "stopped"]
    assert [r.name for r in releases] == ["v2", "v2", None, None]
    assert releases[1].artifact == Artifact(kind="image", ref=IMAGE, digest=DIGEST)
    assert releases[3].artifact.kind == "source"
    assert not releases[3].artifact.promotable
    assert releases[3].artifact.extra["commit"].startswith("9f8e7d")


def test_redeploy_of_an_image_release_deploys_the_image_by_reference(
    deployable: RailwayAPI, provider, web
) -> None:
    release = Release(
        id="d1",
        service="web",
        artifact=Artifact(kind="image", ref=OLD_IMAGE, digest=OLD_IMAGE.split("@")[1]),
        created_at=datetime(2026, 8, 20),
        name="v1",
    )
    started = provider.redeploy(web, release)
    assert started.id == "dep-new"
    assert started.release_name == "v1"
    assert deployable.sent("ShipitServiceInstanceUpdate")[0]["input"]["source"] == {
        "image": OLD_IMAGE
    }
    assert len(deployable.sent("ShipitServiceInstanceDeploy")) == 1
    assert "ShipitDeploymentRollback" not in deployable.names()


def test_redeploy_of_a_source_build_uses_railways_rollback(
    resolved: RailwayAPI, provider, web, sleeps: Sleeps
) -> None:
    before = service_instance(image=None, latest=deployment_node("dep-old", image=None))
    after = service_instance(image=None, latest=deployment_node("dep-rb", "QUEUED", image=None))
    resolved.on("ShipitServiceInstance", before, before, after)
    resolved.on("ShipitDeploymentRollback", {"deploymentRollback": True})
    release = Release(
        id="dep-old",
        service="web",
        artifact=Artifact(kind="source", ref="railway-build:dep-old"),
        created_at=datetime(2026, 8, 20),
    )
    started = provider.redeploy(web, release)
    assert started.id == "dep-rb"
    assert resolved.sent("ShipitDeploymentRollback") == [{"id": "dep-old"}]
    assert sleeps.calls == [1.0]


def test_status_of_a_running_service(resolved: RailwayAPI, provider, web) -> None:
    resolved.on("ShipitServiceInstance", service_instance(image=IMAGE))
    resolved.on("ShipitVariables", {"variables": {"SHIPIT_RELEASES": json.dumps({DIGEST: "v3"})}})
    resolved.router.get(f"https://{DOMAIN}/health").mock(return_value=httpx.Response(200))
    status = provider.status(web)
    assert (status.state, status.healthy, status.url) == ("running", True, f"https://{DOMAIN}")
    assert (status.release, status.release_name) == (IMAGE, "v3")


def test_status_while_deploying_and_of_a_missing_service(api: RailwayAPI, provider, web) -> None:
    api.on("ShipitProjects", projects_page("shop"))
    api.on("ShipitProject", project())
    api.on(
        "ShipitServiceInstance",
        service_instance(
            image=IMAGE, latest=deployment_node("new", "BUILDING"), active=[], domains=False
        ),
    )
    api.on("ShipitVariables", {"variables": {}})
    assert provider.status(web).state == "deploying"
    api.on("ShipitServiceInstance", graphql_error("ServiceInstance not found"))
    assert provider.status(web).state == "unknown"


def test_stop_removes_the_active_deployments(resolved: RailwayAPI, provider, web) -> None:
    resolved.on("ShipitServiceInstance", service_instance(image=IMAGE))
    resolved.on("ShipitDeploymentRemove", {"deploymentRemove": True})
    provider.stop(web)
    assert resolved.sent("ShipitDeploymentRemove") == [{"id": "dep-old"}]


def test_capabilities_are_declared() -> None:
    caps = RailwayProvider.capabilities
    assert {Capability.DEPLOY_IMAGE, Capability.SET_ENV_BATCH, Capability.LINK_DB} <= caps
    assert {
        Capability.ROLLBACK,
        Capability.PROMOTE,
        Capability.LOGS_FOLLOW,
        Capability.STOP,
    } <= caps
    assert Capability.BACKUPS not in caps


# source builds ----------------------------------------------------------------------------
def _source_tree(root: Path) -> Path:
    source = root / "app"
    (source / "pkg").mkdir(parents=True)
    (source / "app.py").write_text("print('hi')\n")
    (source / "pkg" / "mod.py").write_text("X = 1\n")
    (source / "secret.env").write_text("TOKEN=x\n")
    (source / ".gitignore").write_text("*.env\n")
    (source / ".railwayignore").write_text("big/\n")
    (source / "big").mkdir()
    (source / "big" / "data.bin").write_bytes(b"0" * 10)
    (source / "node_modules" / "dep").mkdir(parents=True)
    (source / "node_modules" / "dep" / "index.js").write_text("")
    (source / ".git").mkdir()
    (source / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return source


def test_build_packs_the_source_without_ignored_files(provider, web, tmp_path: Path) -> None:
    service = dataclasses.replace(web, source=_source_tree(tmp_path))
    artifact = provider.build(service)
    again = provider.build(service)
    assert artifact.kind == "source"
    assert not artifact.promotable
    assert artifact.digest == again.digest  # reproducible
    archive = Path(artifact.extra["archive"]).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(archive))) as tar:
        names = sorted(tar.getnames())
    assert names == ["./.gitignore", "./.railwayignore", "./app.py", "./pkg/mod.py"]


def test_a_source_artifact_is_uploaded_like_railway_up(
    resolved: RailwayAPI, provider, web, tmp_path: Path
) -> None:
    service = dataclasses.replace(web, source=_source_tree(tmp_path), start="python app.py")
    artifact = provider.build(service)
    resolved.on("ShipitServiceInstance", service_instance(image=None))
    resolved.on("ShipitServiceInstanceUpdate", {"serviceInstanceUpdate": True})
    upload = resolved.router.post(
        f"https://backboard.railway.com/project/{PROJECT}/environment/{STAGING}/up"
    ).mock(
        return_value=httpx.Response(
            200,
            json={"deploymentId": "dep-up", "url": "u", "logsUrl": "l", "deploymentDomain": DOMAIN},
        )
    )
    started = provider.deploy(service, artifact, release_name="v9")
    assert started.id == "dep-up"
    sent = upload.calls.last.request
    assert sent.url.params["serviceId"] == WEB
    assert sent.url.params["message"] == "shipit v9"
    assert sent.headers["content-type"] == "application/gzip"
    assert sent.headers["authorization"] == "Bearer tok-acct-1234"
    assert sent.content == Path(artifact.extra["archive"]).read_bytes()
    assert (
        resolved.sent("ShipitServiceInstanceUpdate")[0]["input"]["startCommand"] == "python app.py"
    )

    upload.mock(return_value=httpx.Response(413, text="Payload Too Large"))
    with pytest.raises(ProviderAPIError) as caught:
        provider.deploy(service, artifact)
    assert caught.value.status == 413
    assert ".railwayignore" in (caught.value.hint or "")
    assert upload.call_count == 2


# when Railway's meta does not name the image ----------------------------------------------
def test_an_image_missing_from_meta_is_recorded_and_used_by_releases(
    resolved: RailwayAPI, provider, web, artifact
) -> None:
    resolved.on("ShipitDeployment", deployment(status="SUCCESS", image=None))
    resolved.on("ShipitVariables", {"variables": {}})
    resolved.on("ShipitVariableCollectionUpsert", {"variableCollectionUpsert": True})
    resolved.router.get(f"https://{DOMAIN}/health").mock(return_value=httpx.Response(200))

    assert provider.health(web, deploying(artifact)).state == "healthy"

    (record,) = resolved.sent("ShipitVariableCollectionUpsert")
    stored = record["input"]["variables"]["SHIPIT_IMAGES"]
    assert json.loads(stored) == {"dep-new": IMAGE}
    assert record["input"]["skipDeploys"] is True

    resolved.on("ShipitVariables", {"variables": {"SHIPIT_IMAGES": stored}})
    resolved.on("ShipitDeployments", deployments(deployment_node("dep-new", image=None)))
    (release,) = provider.releases(web)
    assert release.artifact == Artifact(kind="image", ref=IMAGE, digest=DIGEST)
    assert release.artifact.promotable


def test_the_trace_never_shows_variable_values(resolved: RailwayAPI, provider, web) -> None:
    from shipit import http

    stream = io.StringIO()
    http.enable_trace(stream)
    try:
        resolved.on("ShipitVariables", {"variables": {"REMOTE_ONLY": "pa55-w0rd-unknown"}})
        provider.get_env(web)
    finally:
        http.disable_trace()
    text = stream.getvalue()
    assert "ShipitVariables" in text
    assert "not shown" in text
    assert "pa55-w0rd-unknown" not in text
    assert "tok-acct-1234" not in text


def test_link_db_with_a_project_token_that_may_not_create_says_which_token_to_use(
    api: RailwayAPI, make_provider: MakeProvider
) -> None:
    api.on("ShipitProjectToken", project_token())
    api.on("ShipitProject", project())
    api.on("ShipitTemplate", empty_postgres_template())
    api.on("ShipitTemplateDeploy", graphql_error("Not Authorized"))
    provider = make_provider(token="ptok-5678", kind="project")
    with pytest.raises(AuthError) as caught:
        provider.link_db(provider.context.environment.services["web"])
    assert "RAILWAY_API_TOKEN instead of RAILWAY_TOKEN" in (caught.value.hint or "")
