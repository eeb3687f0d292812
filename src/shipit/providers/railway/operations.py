"""Every GraphQL document the Railway adapter can send, in one place.

The texts follow ``providers/railway/operations.graphql`` in the shared API notes and are
validated against Railway's schema by ``tests/providers/railway/test_operations.py``.
``retry`` says whether a call may be repeated after a 429, a 502-504 or a dropped connection:
reads and idempotent writes may; creating a service, starting a deployment, rolling back and
deploying a template may not (a repeat could do it twice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"^\s*(query|mutation|subscription)\s+(\w+)")

LOG_LINE_FRAGMENT = """
fragment ShipitLogLine on Log {
  timestamp
  message
  severity
  attributes { key value }
  tags { deploymentId deploymentInstanceId serviceId environmentId snapshotId }
}
"""


@dataclass(frozen=True)
class Operation:
    """One named GraphQL operation and whether repeating it is safe."""

    name: str
    kind: str
    document: str
    retry: bool
    secret_answer: bool = False  # the answer holds variable values: kept out of the trace


def _operation(text: str, *, retry: bool | None = None, secret_answer: bool = False) -> Operation:
    match = _NAME.match(text)
    if match is None:  # pragma: no cover - guarded by the test over ALL
        raise ValueError("an operation needs a kind and a name")
    kind, name = match.groups()
    document = text.strip() + "\n"
    if "...ShipitLogLine" in document:
        document += LOG_LINE_FRAGMENT
    repeat = kind == "query" if retry is None else retry
    return Operation(name, kind, document, repeat, secret_answer)


# ---------------------------------------------------------------- ids

PROJECT_TOKEN = _operation("""
query ShipitProjectToken {
  projectToken { projectId environmentId project { id name } environment { id name } }
}
""")

ME = _operation("""
query ShipitMe {
  me { id workspaces { id name } }
}
""")

PROJECTS = _operation("""
query ShipitProjects($workspaceId: String, $first: Int, $after: String) {
  projects(workspaceId: $workspaceId, first: $first, after: $after) {
    edges { node { id name workspaceId deletedAt } }
    pageInfo { hasNextPage endCursor }
  }
}
""")

PROJECT = _operation("""
query ShipitProject($id: String!) {
  project(id: $id) {
    id
    name
    workspaceId
    environments { edges { node { id name canAccess isEphemeral deletedAt } } }
    services { edges { node { id name } } }
  }
}
""")

SERVICE_INSTANCE = _operation("""
query ShipitServiceInstance($environmentId: String!, $serviceId: String!) {
  serviceInstance(environmentId: $environmentId, serviceId: $serviceId) {
    id
    serviceId
    serviceName
    environmentId
    source { image repo }
    healthcheckPath
    healthcheckTimeout
    numReplicas
    latestDeployment {
      id status createdAt deploymentStopped canRedeploy canRollback staticUrl meta
    }
    activeDeployments { id status createdAt deploymentStopped staticUrl meta }
    domains {
      serviceDomains { id domain targetPort }
      customDomains { id domain targetPort }
    }
  }
}
""")

# ---------------------------------------------------------------- deploy

SERVICE_CREATE = _operation("""
mutation ShipitServiceCreate($input: ServiceCreateInput!) {
  serviceCreate(input: $input) { id name projectId }
}
""")

SERVICE_INSTANCE_UPDATE = _operation(
    """
mutation ShipitServiceInstanceUpdate(
  $serviceId: String!, $environmentId: String, $input: ServiceInstanceUpdateInput!
) {
  serviceInstanceUpdate(serviceId: $serviceId, environmentId: $environmentId, input: $input)
}
""",
    retry=True,  # sets settings to given values: repeating changes nothing
)

SERVICE_INSTANCE_DEPLOY = _operation("""
mutation ShipitServiceInstanceDeploy($environmentId: String!, $serviceId: String!) {
  serviceInstanceDeployV2(environmentId: $environmentId, serviceId: $serviceId)
}
""")

# ---------------------------------------------------------------- variables

VARIABLES = _operation(
    """
query ShipitVariables(
  $projectId: String!, $environmentId: String!, $serviceId: String, $unrendered: Boolean
) {
  variables(
    projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId,
    unrendered: $unrendered
  )
}
""",
    secret_answer=True,
)

VARIABLE_COLLECTION_UPSERT = _operation(
    """
mutation ShipitVariableCollectionUpsert($input: VariableCollectionUpsertInput!) {
  variableCollectionUpsert(input: $input)
}
""",
    retry=True,  # sets names to given values: repeating changes nothing
)

VARIABLE_DELETE = _operation(
    """
mutation ShipitVariableDelete($input: VariableDeleteInput!) {
  variableDelete(input: $input)
}
""",
    retry=True,  # a repeat finds nothing to delete, which set_env treats as done
)

# ---------------------------------------------------------------- Postgres

TEMPLATE = _operation("""
query ShipitTemplate($code: String!) {
  template(code: $code) { id code name serializedConfig }
}
""")

TEMPLATE_DEPLOY = _operation("""
mutation ShipitTemplateDeploy($input: TemplateDeployV2Input!) {
  templateDeployV2(input: $input) { projectId workflowId }
}
""")

WORKFLOW_STATUS = _operation("""
query ShipitWorkflowStatus($workflowId: String!) {
  workflowStatus(workflowId: $workflowId) { status error }
}
""")

# ---------------------------------------------------------------- deployments

DEPLOYMENT = _operation("""
query ShipitDeployment($id: String!) {
  deployment(id: $id) {
    id
    status
    statusUpdatedAt
    deploymentStopped
    createdAt
    environmentId
    serviceId
    url
    staticUrl
    canRedeploy
    canRollback
    meta
  }
}
""")

DEPLOYMENTS = _operation("""
query ShipitDeployments($input: DeploymentListInput!, $first: Int, $after: String) {
  deployments(input: $input, first: $first, after: $after) {
    edges { node { id status createdAt deploymentStopped canRollback staticUrl meta } }
    pageInfo { hasNextPage endCursor }
  }
}
""")

DEPLOYMENT_EVENTS = _operation("""
query ShipitDeploymentEvents($id: String!, $first: Int) {
  deploymentEvents(id: $id, first: $first) {
    edges { node { id step createdAt completedAt payload { error reason detail } } }
  }
}
""")

BUILD_LOGS = _operation("""
query ShipitBuildLogs(
  $deploymentId: String!, $limit: Int, $filter: String, $startDate: DateTime, $endDate: DateTime
) {
  buildLogs(
    deploymentId: $deploymentId, limit: $limit, filter: $filter, startDate: $startDate,
    endDate: $endDate
  ) {
    ...ShipitLogLine
  }
}
""")

DEPLOYMENT_LOGS = _operation("""
query ShipitDeploymentLogs(
  $deploymentId: String!, $limit: Int, $filter: String, $startDate: DateTime, $endDate: DateTime
) {
  deploymentLogs(
    deploymentId: $deploymentId, limit: $limit, filter: $filter, startDate: $startDate,
    endDate: $endDate
  ) {
    ...ShipitLogLine
  }
}
""")

DEPLOYMENT_ROLLBACK = _operation("""
mutation ShipitDeploymentRollback($id: String!) {
  deploymentRollback(id: $id)
}
""")

DEPLOYMENT_CANCEL = _operation(
    """
mutation ShipitDeploymentCancel($id: String!) {
  deploymentCancel(id: $id)
}
""",
    retry=True,  # cancelling twice leaves it cancelled
)

DEPLOYMENT_REMOVE = _operation(
    """
mutation ShipitDeploymentRemove($id: String!) {
  deploymentRemove(id: $id)
}
""",
    retry=True,  # removing twice leaves it removed
)

ALL: tuple[Operation, ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, Operation)
)
