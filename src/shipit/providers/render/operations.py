"""Every REST operation the Render adapter can send, in one place.

Each one names its ``operationId`` in Render's OpenAPI document (``openapi.json`` in the shared API
notes), its method and its path template; ``tests/providers/render/test_operations.py`` checks
them against that document and every request against the operation's parameters and body schema.
``retry`` says whether a call may be repeated after a 429, a 502-504 or a dropped connection:
reads and idempotent writes may; creating a service or a database, starting a deploy, rolling
back and resuming (which starts a deploy) may not.

The replace-all ``PUT /services/{serviceId}/env-vars`` is deliberately absent: variables not
listed in it are deleted, so shipit writes variables one key at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import quote


@dataclass(frozen=True)
class Operation:
    """One REST operation: ``name`` is its OpenAPI operationId, ``path`` its template."""

    name: str
    method: str
    path: str
    retry: bool
    secret_answer: bool = False  # the answer holds variable values: kept out of the trace

    def url(self, **params: str) -> str:
        """The path with ``{name}`` placeholders filled in (each value percent-encoded)."""
        return self.path.format(**{k: quote(v, safe="") for k, v in params.items()})


def _read(name: str, path: str, *, secret_answer: bool = False) -> Operation:
    return Operation(name, "GET", path, retry=True, secret_answer=secret_answer)


def _write(name: str, method: str, path: str, *, retry: bool) -> Operation:
    return Operation(name, method, path, retry=retry)


# ---------------------------------------------------------------- workspaces and services

LIST_OWNERS: Final = _read("list-owners", "/owners")
LIST_SERVICES: Final = _read("list-services", "/services")
RETRIEVE_SERVICE: Final = _read("retrieve-service", "/services/{serviceId}")
CREATE_SERVICE: Final = _write("create-service", "POST", "/services", retry=False)
UPDATE_SERVICE: Final = _write(
    "update-service",
    "PATCH",
    "/services/{serviceId}",
    retry=True,  # sets fields to values
)
SUSPEND_SERVICE: Final = _write(
    "suspend-service",
    "POST",
    "/services/{serviceId}/suspend",
    retry=True,  # stays suspended
)
RESUME_SERVICE: Final = _write(
    "resume-service",
    "POST",
    "/services/{serviceId}/resume",
    retry=False,  # starts a deploy
)

# ---------------------------------------------------------------- deploys

LIST_DEPLOYS: Final = _read("list-deploys", "/services/{serviceId}/deploys")
RETRIEVE_DEPLOY: Final = _read("retrieve-deploy", "/services/{serviceId}/deploys/{deployId}")
CREATE_DEPLOY: Final = _write("create-deploy", "POST", "/services/{serviceId}/deploys", retry=False)
CANCEL_DEPLOY: Final = _write(
    "cancel-deploy",
    "POST",
    "/services/{serviceId}/deploys/{deployId}/cancel",
    retry=True,  # cancelling twice leaves it canceled
)
ROLLBACK_DEPLOY: Final = _write(
    "rollback-deploy", "POST", "/services/{serviceId}/rollback", retry=False
)

# ---------------------------------------------------------------- variables

LIST_ENV_VARS: Final = _read(
    "get-env-vars-for-service", "/services/{serviceId}/env-vars", secret_answer=True
)
UPDATE_ENV_VAR: Final = Operation(
    "update-env-var",
    "PUT",
    "/services/{serviceId}/env-vars/{envVarKey}",
    retry=True,  # sets one key to a value: repeating changes nothing
    secret_answer=True,
)
DELETE_ENV_VAR: Final = _write(
    "delete-env-var",
    "DELETE",
    "/services/{serviceId}/env-vars/{envVarKey}",
    retry=True,  # a repeat finds nothing to delete (404), which set_env treats as done
)

# ---------------------------------------------------------------- logs

LIST_LOGS: Final = _read("list-logs", "/logs")

# ---------------------------------------------------------------- Postgres

LIST_POSTGRES: Final = _read("list-postgres", "/postgres")
RETRIEVE_POSTGRES: Final = _read("retrieve-postgres", "/postgres/{postgresId}")
CREATE_POSTGRES: Final = _write("create-postgres", "POST", "/postgres", retry=False)
POSTGRES_CONNECTION_INFO: Final = _read(
    "retrieve-postgres-connection-info",
    "/postgres/{postgresId}/connection-info",
    secret_answer=True,
)
POSTGRES_RECOVERY: Final = _read(
    "retrieve-postgres-recovery-info", "/postgres/{postgresId}/recovery"
)

ALL: tuple[Operation, ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, Operation)
)
