"""Every REST operation the Render adapter can send exists in Render's OpenAPI document."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.fakes.openapi import find_operation, load_document, validate_request

from shipit.providers.render import operations as ops
from shipit.providers.render import parse as render_parse

from .conftest import SHARED, SPEC

NEVER_REPEATED = {
    "create-service",
    "create-deploy",
    "rollback-deploy",
    "resume-service",
    "create-postgres",
}


def test_the_module_holds_every_operation_once() -> None:
    names = [operation.name for operation in ops.ALL]
    assert len(names) == len(set(names)) >= 15


@pytest.mark.parametrize("operation", ops.ALL, ids=lambda o: o.name)
def test_operation_is_the_documented_method_path_and_id(operation: ops.Operation) -> None:
    document = load_document(SPEC)
    item = document.document["paths"][operation.path]
    assert item[operation.method.lower()]["operationId"] == operation.name
    example = operation.url(**{name: "x-1" for name in _placeholders(operation.path)})
    found = find_operation(SPEC, operation.method, "/v1" + example)
    assert found is not None
    assert found.operation_id == operation.name


@pytest.mark.parametrize("operation", ops.ALL, ids=lambda o: o.name)
def test_only_reads_and_idempotent_writes_may_be_repeated(operation: ops.Operation) -> None:
    if operation.method == "GET":
        assert operation.retry
    if operation.name in NEVER_REPEATED:
        assert not operation.retry


def test_the_replace_all_variables_endpoint_is_never_sent() -> None:
    recorded = fixture_request("04")
    assert recorded["method"] == "PUT"
    path = urlsplit(recorded["url"]).path.removeprefix("/v1")
    assert path.endswith("/env-vars")  # fixture 04: the list becomes the complete set
    assert all(
        not (o.method == "PUT" and o.path == "/services/{serviceId}/env-vars") for o in ops.ALL
    )


def test_path_values_are_percent_encoded() -> None:
    assert ops.UPDATE_ENV_VAR.url(serviceId="srv-1", envVarKey="A/B C") == (
        "/services/srv-1/env-vars/A%2FB%20C"
    )


def test_every_deploy_status_in_the_spec_is_handled() -> None:
    values = set(load_document(SPEC).document["components"]["schemas"]["deployStatus"]["enum"])
    groups = [
        render_parse.IN_PROGRESS,
        render_parse.LIVE,
        render_parse.SUPERSEDED,
        render_parse.FAILED,
        render_parse.CANCELED,
    ]
    assert set().union(*groups) == values
    assert sum(len(g) for g in groups) == len(values), "a status is in two groups"
    assert set(render_parse.DEPLOY_STATES) == values


@pytest.mark.parametrize("name", ["01", "02", "03", "04", "06"])
def test_the_validator_accepts_the_recorded_requests(name: str) -> None:
    recorded = fixture_request(name)
    parts = urlsplit(recorded["url"])
    problems = validate_request(
        SPEC, recorded["method"], parts.path, parse_qs(parts.query), recorded["request_body"]
    )
    assert problems == []


def test_the_validator_refuses_what_the_spec_refuses() -> None:
    def check(method: str, path: str, query: dict, body: object) -> list[str]:
        return validate_request(SPEC, method, path, query, body)

    assert check("POST", "/v1/services/s/deploys", {}, {"clearCache": True})
    assert check("POST", "/v1/services/s/deploys", {}, None)  # the body is required
    assert check("GET", "/v1/logs", {"resource": ["s"]}, None)  # ownerId is required
    assert check("GET", "/v1/logs", {"ownerId": ["o"], "resource": ["s"], "limit": ["500"]}, None)
    assert check("GET", "/v1/services", {"name": ["a", "b"]}, None)  # explode: false
    assert check("GET", "/v1/services", {"bogus": ["1"]}, None)
    assert check("DELETE", "/v1/services/s/deploys", {}, None)
    assert check("PUT", "/v1/services/s/env-vars/K", {}, {"valu": "x"})
    assert check("POST", "/v1/services", {}, {"type": "web_service", "name": "n"})
    bad_details = {
        "type": "web_service",
        "name": "n",
        "ownerId": "o",
        "serviceDetails": {"runtime": "imagex"},
    }
    assert check("POST", "/v1/services", {}, bad_details)
    # fixture 05 was accepted by Render although the spec declares readReplicas an array
    recorded = fixture_request("05")
    assert check("POST", "/v1/postgres", {}, recorded["request_body"]) == [
        "POST /postgres: body.readReplicas: None is not of type 'array'"
    ]


def fixture_request(name: str) -> dict:
    (path,) = sorted(SHARED.glob(f"fixtures/{name}_*.json"))
    return json.loads(path.read_text())


def _placeholders(template: str) -> list[str]:
    import re

    return re.findall(r"\{([^}]+)\}", template)
