"""Every request the Fly adapter can send matches Fly's real schemas (and the validator is live)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate
from tests.fakes.fly import fly_schema, fly_spec, schema_errors
from tests.fakes.openapi import RequestInvalid, check_request, find_operation, validate_request

from shipit.providers.fly import operations as ops

NEVER_REPEATED = {
    "Apps_create",
    "Machines_create",
    "Machines_update",
    "Machines_create_lease",
    "Secrets_update",
    "Postgres_create",
    "ShipitCreateApp",
    "ShipitCreateRelease",
}


def test_the_module_holds_every_operation_once() -> None:
    rest = [endpoint.name for endpoint in ops.ENDPOINTS]
    graphql = [operation.name for operation in ops.ALL]
    assert len(rest) == len(set(rest)) >= 20
    assert len(graphql) == len(set(graphql)) >= 6
    assert all(name.startswith("Shipit") for name in graphql)


@pytest.mark.parametrize("operation", ops.ALL, ids=lambda o: o.name)
def test_graphql_operation_validates_against_the_schema(operation: ops.Operation) -> None:
    document = parse(operation.document)
    assert [e.message for e in validate(fly_schema(), document)] == []
    (definition,) = document.definitions
    assert definition.name.value == operation.name
    assert definition.operation.value == operation.kind


def test_the_shared_operations_file_still_validates(shared_dir: Path) -> None:
    schema = build_schema((shared_dir / "providers" / "fly" / "schema.graphql").read_text())
    text = (shared_dir / "providers" / "fly" / "operations.graphql").read_text()
    assert validate(schema, parse(text)) == []


def test_the_graphql_check_is_live() -> None:
    broken = ops.RESOLVE_IMAGE.document.replace("digest", "digestX")
    assert schema_errors(broken)
    assert schema_errors(ops.CREATE_RELEASE.document, {"input": {"appId": "a"}})  # image missing


@pytest.mark.parametrize("endpoint", ops.ENDPOINTS, ids=lambda e: e.name)
def test_endpoint_is_the_documented_method_path_and_id(endpoint: ops.Endpoint) -> None:
    names = re.findall(r"\{(\w+)\}", endpoint.path)
    path = "/v1" + endpoint.url(**{name: f"{name}-1" for name in names})
    found = find_operation(fly_spec(), endpoint.method, path)
    assert found is not None, f"{endpoint.method} {path} is not in openapi.json"
    assert found.operation_id == endpoint.name


@pytest.mark.parametrize("endpoint", ops.ENDPOINTS, ids=lambda e: e.name)
def test_only_reads_and_idempotent_writes_may_be_repeated(endpoint: ops.Endpoint) -> None:
    if endpoint.method == "GET":
        assert endpoint.retry
    if endpoint.name in NEVER_REPEATED:
        assert not endpoint.retry


@pytest.mark.parametrize("operation", ops.ALL, ids=lambda o: o.name)
def test_graphql_mutations_are_not_repeated_unless_idempotent(operation: ops.Operation) -> None:
    if operation.kind == "query":
        assert operation.retry
    if operation.name in NEVER_REPEATED:
        assert not operation.retry


def test_path_values_are_percent_encoded() -> None:
    assert ops.DELETE_SECRET.url(app="a", name="A/B C") == "/apps/a/secrets/A%2FB%20C"


# the OpenAPI validator itself ---------------------------------------------------------------
def test_the_validator_accepts_the_api_notes_machine_config() -> None:
    body = {
        "region": "iad",
        "lease_ttl": 300,
        "min_secrets_version": 17,
        "config": {
            "image": "registry.fly.io/shipit-web-stg@sha256:" + "9f" * 32,
            "env": {"PORT": "8080"},
            "guest": {"cpu_kind": "shared", "cpus": 1, "memory_mb": 256},
            "services": [
                {
                    "protocol": "tcp",
                    "internal_port": 8080,
                    "autostop": "stop",
                    "ports": [{"port": 443, "handlers": ["tls", "http"]}],
                    "checks": [{"type": "http", "port": 8080, "path": "/healthz"}],
                }
            ],
            "metadata": {"fly_platform_version": "v2", "fly_process_group": "app"},
        },
    }
    assert check_request(fly_spec(), "POST", "/v1/apps/a/machines", {}, body) == ("Machines_create")


def test_the_validator_refuses_what_the_spec_refuses() -> None:
    spec = fly_spec()

    def problems(method: str, path: str, query: dict, body: object, **kw: object) -> list[str]:
        return validate_request(spec, method, path, query, body, **kw)

    assert problems("POST", "/v1/apps", {"wait": ["true"]}, {"name": "a"})  # not in the spec
    assert problems("GET", "/v1/apps", {}, None)  # org_slug is required
    assert problems("PUT", "/v1/apps/a", {}, None)  # no such method
    assert problems("GET", "/v1/nowhere", {}, None)
    assert problems("POST", "/v1/apps/a/machines", {}, {"config": {"imag": "x"}})  # misspelt
    assert problems("POST", "/v1/apps/a/machines", {}, {"config": {"services": [{"autostop": 1}]}})
    assert problems("POST", "/v1/apps/a/secrets", {}, {"values": {"A": None}})  # null: string
    assert problems("POST", "/v1/apps/a/ip_assignments", {}, {"type": "v5"})  # enum
    assert problems("GET", "/v1/apps/a/machines", {"summary": ["yes"]}, None)  # boolean
    assert problems("DELETE", "/v1/apps/a/machines/m/lease", {}, None, headers={})  # nonce
    assert problems("GET", "/v1/apps/a/machines", {"metadata.shipit_create": ["x"]}, None) == []
    with pytest.raises(RequestInvalid, match="Machines_create"):
        check_request(spec, "POST", "/v1/apps/a/machines", {}, {"config": {"imag": "x"}})
