"""Railway's transport: the GraphQL endpoint, the token header, and the source-upload endpoint.

``RAILWAY_API_TOKEN`` (account or workspace token, also what ``shipit login railway`` stores) is
sent as ``Authorization: Bearer``; ``RAILWAY_TOKEN`` (a project token) as ``Project-Access-Token``.
``SHIPIT_RAILWAY_API_URL`` replaces the GraphQL endpoint (tests, proxies); an URL without a path
gets ``/graphql/v2``. The upload endpoint lives on the same host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import httpx

from shipit.errors import AuthError, ProviderAPIError
from shipit.http import RetryPolicy, base_url, graphql, make_client, request
from shipit.providers.railway.operations import Operation
from shipit.sensitive import Secret

DEFAULT_URL: Final = "https://backboard.railway.com/graphql/v2"
GRAPHQL_PATH: Final = "/graphql/v2"
TOKEN_HINT: Final = (
    "set RAILWAY_API_TOKEN (account or workspace token) or RAILWAY_TOKEN (project token), "
    "or run `shipit login railway`"
)
# GraphQL error messages that mean the token was refused (API.md, "Errors and rate limits").
AUTH_MESSAGES: Final = ("not authorized", "project token not found", "unauthorized")
UPLOAD_TIMEOUT: Final = httpx.Timeout(300.0, connect=5.0)


def graphql_url() -> str:
    """The GraphQL endpoint: ``SHIPIT_RAILWAY_API_URL`` or Railway's own."""
    url = base_url("railway", DEFAULT_URL)
    parts = urlsplit(url)
    if parts.path in {"", "/"}:
        url = urlunsplit(parts._replace(path=GRAPHQL_PATH))
    return url


def auth_headers(token: Secret | None, kind: str) -> dict[str, str]:
    """The header that carries the token (the one place the token is revealed)."""
    if token is None or not token.reveal():
        raise AuthError("no Railway token", hint=TOKEN_HINT)
    if kind == "project":
        return {"Project-Access-Token": token.reveal()}
    return {"Authorization": f"Bearer {token.reveal()}"}


class RailwayClient:
    """Sends the adapter's operations (see ``operations.py``) and source uploads to Railway."""

    def __init__(
        self,
        token: Secret | None,
        *,
        token_kind: str = "bearer",  # noqa: S107 - a kind, not a secret
        url: str | None = None,
        verbose: bool = False,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.token_kind = token_kind
        self.url = url or graphql_url()
        self.http = make_client(
            "railway",
            headers=auth_headers(token, token_kind),
            auth_hint=TOKEN_HINT,
            auth_messages=AUTH_MESSAGES,
            policy=policy,
            verbose=verbose,
            transport=transport,
        )

    def call(self, operation: Operation, **variables: Any) -> dict[str, Any]:
        """Run ``operation`` and return its ``data``; retried only when the operation allows."""
        return graphql(
            self.http,
            self.url,
            operation.document,
            variables,
            operation.name,
            retry=operation.retry,
            hide_body=operation.secret_answer,
        )

    def upload(
        self,
        *,
        project_id: str,
        environment_id: str,
        service_id: str,
        archive: bytes,
        message: str | None = None,
    ) -> Mapping[str, Any]:
        """POST a gzipped tar of the source (what ``railway up`` does); never retried."""
        parts = urlsplit(self.url)
        path = f"/project/{project_id}/environment/{environment_id}/up"
        url = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        params = {"serviceId": service_id}
        if message:
            params["message"] = message
        try:
            response = request(
                self.http,
                "POST",
                url,
                params=params,
                content=archive,
                headers={"Content-Type": "application/gzip"},
                timeout=UPLOAD_TIMEOUT,
                retry=False,
            )
        except ProviderAPIError as error:
            if error.status == 413:
                error.hint = (
                    "the source archive is too large for Railway: list big files in "
                    ".railwayignore, or give the service an `image` and a [build] table"
                )
            raise
        body = response.json()
        if not isinstance(body, Mapping) or not body.get("deploymentId"):
            raise ProviderAPIError("railway", "the upload answer has no deploymentId")
        return body

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()
