"""Every document the Railway adapter can send validates against Railway's real schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLEnumType, GraphQLSchema, parse, validate
from tests.fakes.railway import railway_schema

from shipit.providers.railway import operations as ops
from shipit.providers.railway import parse as railway_parse

NEVER_REPEATED = {
    "ShipitServiceCreate",
    "ShipitServiceInstanceDeploy",
    "ShipitTemplateDeploy",
    "ShipitDeploymentRollback",
}


@pytest.fixture
def schema(shared_dir: Path) -> GraphQLSchema:
    """Railway's schema, built once (graphql-core 3.3's one deprecation complaint cleared)."""
    return railway_schema(shared_dir / "providers" / "railway" / "schema.json")


def test_the_module_holds_every_operation_once() -> None:
    names = [operation.name for operation in ops.ALL]
    assert len(names) == len(set(names)) >= 20
    assert all(name.startswith("Shipit") for name in names)


@pytest.mark.parametrize("operation", ops.ALL, ids=lambda o: o.name)
def test_operation_validates_against_the_schema(schema, operation: ops.Operation) -> None:
    document = parse(operation.document)
    assert [e.message for e in validate(schema, document)] == []
    (definition,) = [d for d in document.definitions if hasattr(d, "operation")]
    assert definition.name.value == operation.name
    assert definition.operation.value == operation.kind


@pytest.mark.parametrize("operation", ops.ALL, ids=lambda o: o.name)
def test_only_reads_and_idempotent_writes_may_be_repeated(operation: ops.Operation) -> None:
    if operation.kind == "query":
        assert operation.retry
    if operation.name in NEVER_REPEATED:
        assert not operation.retry


def test_every_deployment_status_in_the_schema_is_handled(schema) -> None:
    enum = schema.type_map["DeploymentStatus"]
    assert isinstance(enum, GraphQLEnumType)
    values = set(enum.values)
    groups = [
        railway_parse.IN_PROGRESS,
        railway_parse.LIVE,
        railway_parse.FAILED,
        railway_parse.ENDED,
    ]
    assert set().union(*groups) == values
    assert sum(len(g) for g in groups) == len(values), "a status is in two groups"
    assert set(railway_parse.DEPLOY_STATES) == values
