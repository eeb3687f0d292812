"""Every request the Fly.io adapter can send, in one place: REST endpoints and GraphQL documents.

REST endpoints are named by their ``operationId`` in the Machines API's OpenAPI spec (paths are
relative to the ``/v1`` base); ``tests/providers/fly/test_operations.py`` checks each against the
spec, and each GraphQL document against ``schema.graphql`` (texts follow
``operations.graphql`` in the shared API notes). ``retry`` says whether a call may be repeated
after a 429, a 502-504 or a dropped connection: reads may; creating or updating machines, apps,
secrets, releases or databases may not (API.md 1.3: a machine create is not idempotent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_NAME = re.compile(r"^\s*(query|mutation)\s+(\w+)")


@dataclass(frozen=True)
class Endpoint:
    """One Machines API operation: method, path template under ``/v1``, and repeat safety."""

    name: str
    method: str
    path: str
    retry: bool

    def url(self, **values: str) -> str:
        """The path with each ``{placeholder}`` filled (percent-encoded)."""

        def fill(match: re.Match[str]) -> str:
            return quote(str(values[match.group(1)]), safe="")

        return _PLACEHOLDER.sub(fill, self.path)


def _get(name: str, path: str) -> Endpoint:
    return Endpoint(name, "GET", path, retry=True)


def _write(name: str, method: str, path: str, *, retry: bool = False) -> Endpoint:
    return Endpoint(name, method, path, retry=retry)


# apps and addresses
APP = _get("Apps_show", "/apps/{app}")
CREATE_APP = _write("Apps_create", "POST", "/apps")
IPS = _get("App_IPAssignments_list", "/apps/{app}/ip_assignments")
ASSIGN_IP = _write("App_IPAssignments_create", "POST", "/apps/{app}/ip_assignments")

# machines
MACHINES = _get("Machines_list", "/apps/{app}/machines")
MACHINE = _get("Machines_show", "/apps/{app}/machines/{machine}")
CREATE_MACHINE = _write("Machines_create", "POST", "/apps/{app}/machines")
UPDATE_MACHINE = _write("Machines_update", "POST", "/apps/{app}/machines/{machine}")
DESTROY_MACHINE = _write("Machines_delete", "DELETE", "/apps/{app}/machines/{machine}")
START_MACHINE = _write("Machines_start", "POST", "/apps/{app}/machines/{machine}/start")
STOP_MACHINE = _write("Machines_stop", "POST", "/apps/{app}/machines/{machine}/stop")
VERSIONS = _get("Machines_list_versions", "/apps/{app}/machines/{machine}/versions")
ACQUIRE_LEASE = _write("Machines_create_lease", "POST", "/apps/{app}/machines/{machine}/lease")
# Releasing a lease twice is harmless, so it may be repeated.
RELEASE_LEASE = _write(
    "Machines_release_lease", "DELETE", "/apps/{app}/machines/{machine}/lease", retry=True
)

# secrets (the app-level vault)
SECRETS = _get("Secrets_list", "/apps/{app}/secrets")
UPDATE_SECRETS = _write("Secrets_update", "POST", "/apps/{app}/secrets")
DELETE_SECRET = _write("Secret_delete", "DELETE", "/apps/{app}/secrets/{name}")

# Managed Postgres
POSTGRES_CLUSTERS = _get("Postgres_list", "/postgres")
POSTGRES_CLUSTER = _get("Postgres_show", "/postgres/{cluster}")
CREATE_POSTGRES = _write("Postgres_create", "POST", "/postgres")
POSTGRES_CREDENTIALS = _get(
    "Postgres_users_credentials", "/postgres/{cluster}/users/{user}/credentials"
)
ATTACH_POSTGRES = _write("Postgres_attachments_create", "POST", "/postgres/{cluster}/attachments")
POSTGRES_BACKUPS = _get("Postgres_backups_list", "/postgres/{cluster}/backups")

ENDPOINTS: Final = (
    APP,
    CREATE_APP,
    IPS,
    ASSIGN_IP,
    MACHINES,
    MACHINE,
    CREATE_MACHINE,
    UPDATE_MACHINE,
    DESTROY_MACHINE,
    START_MACHINE,
    STOP_MACHINE,
    VERSIONS,
    ACQUIRE_LEASE,
    RELEASE_LEASE,
    SECRETS,
    UPDATE_SECRETS,
    DELETE_SECRET,
    POSTGRES_CLUSTERS,
    POSTGRES_CLUSTER,
    CREATE_POSTGRES,
    POSTGRES_CREDENTIALS,
    ATTACH_POSTGRES,
    POSTGRES_BACKUPS,
)


@dataclass(frozen=True)
class Operation:
    """One named GraphQL operation and whether repeating it is safe."""

    name: str
    kind: str
    document: str
    retry: bool


def _operation(text: str, *, retry: bool | None = None) -> Operation:
    match = _NAME.match(text)
    if match is None:  # pragma: no cover - guarded by the test over ALL
        raise ValueError("an operation needs a kind and a name")
    kind, name = match.groups()
    repeat = kind == "query" if retry is None else retry
    return Operation(name, kind, text.strip() + "\n", retry=repeat)


ORGANIZATION = _operation("""
query ShipitOrganization($slug: String!) {
  organization(slug: $slug) { id slug rawSlug name }
}
""")

CREATE_APP_GRAPHQL = _operation("""
mutation ShipitCreateApp($input: CreateAppInput!) {
  createApp(input: $input) { app { id name status organization { slug } } }
}
""")

APP_RELEASES = _operation("""
query ShipitAppReleases($appName: String!, $limit: Int!) {
  app(name: $appName) {
    releasesUnprocessed(first: $limit) {
      nodes { id version status stable reason description imageRef createdAt }
    }
  }
}
""")

RESOLVE_IMAGE = _operation("""
query ShipitResolveImage($appName: String!, $ref: String!) {
  app(name: $appName) { image(ref: $ref) { id ref digest registry repository tag } }
}
""")

CREATE_RELEASE = _operation("""
mutation ShipitCreateRelease($input: CreateReleaseInput!) {
  createRelease(input: $input) { release { id version } }
}
""")

# Setting a release's status is idempotent (flyctl repeats it on 5xx; API.md 4.2).
UPDATE_RELEASE = _operation(
    """
mutation ShipitUpdateRelease($input: UpdateReleaseInput!) {
  updateRelease(input: $input) { release { id status version } }
}
""",
    retry=True,
)

ALL: Final = (
    ORGANIZATION,
    CREATE_APP_GRAPHQL,
    APP_RELEASES,
    RESOLVE_IMAGE,
    CREATE_RELEASE,
    UPDATE_RELEASE,
)
