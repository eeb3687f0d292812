"""Fly.io's transport: the Machines REST API, the GraphQL API, the logs endpoint, the app's URL.

- Machines API: ``https://api.machines.dev/v1`` (``SHIPIT_FLY_MACHINES_URL``; a URL without a
  path gets ``/v1``). GraphQL: ``https://api.fly.io/graphql`` (``SHIPIT_FLY_GRAPHQL_URL``; a URL
  without a path gets ``/graphql``). Logs live on the GraphQL host: ``/api/v1/apps/<app>/logs``.
- The app's public URL is ``https://<app>.fly.dev``; ``SHIPIT_FLY_APP_URL_TEMPLATE`` (with an
  ``{app}`` placeholder) replaces it, so tests can point the health probe at a loopback fake.
- ``FLY_API_TOKEN`` is normalised as fly-go does it: a leading ``Bearer``/``FlyV1`` is dropped and
  the comma list split. With a macaroon (``fm1r_``, ``fm1a_``, ``fm2_``) the Machines API and
  logs get ``FlyV1 <macaroons>`` and GraphQL ``FlyV1 <macaroons>,<user tokens>``; a user token
  alone goes as ``Bearer``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from shipit.errors import AuthError, ProviderAPIError, UsageError
from shipit.http import ProviderClient, RetryPolicy, base_url, graphql, make_client, request
from shipit.providers.fly.operations import Endpoint, Operation
from shipit.sensitive import Secret

DEFAULT_MACHINES_URL: Final = "https://api.machines.dev/v1"
DEFAULT_GRAPHQL_URL: Final = "https://api.fly.io/graphql"
APP_URL_VARIABLE: Final = "SHIPIT_FLY_APP_URL_TEMPLATE"
DEFAULT_APP_URL: Final = "https://{app}.fly.dev"
LOGS_PATH: Final = "/api/v1/apps/{app}/logs"
TOKEN_HINT: Final = (
    "set FLY_API_TOKEN (from `fly tokens create org`, or `fly tokens create deploy` for an "
    "existing app), or run `shipit login fly`"
)
# GraphQL error messages that mean the token was refused.
AUTH_MESSAGES: Final = ("you must be authenticated", "unauthorized", "not authorized")
MACAROON_PREFIXES: Final = ("fm1r", "fm1a", "fm2")


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    if parts.path in {"", "/"}:
        return urlunsplit(parts._replace(path=path))
    return url


def machines_url() -> str:
    """The Machines API base (``.../v1``): ``SHIPIT_FLY_MACHINES_URL`` or Fly's own."""
    return _with_path(base_url("fly_machines", DEFAULT_MACHINES_URL), "/v1")


def graphql_url() -> str:
    """The GraphQL endpoint: ``SHIPIT_FLY_GRAPHQL_URL`` or Fly's own."""
    return _with_path(base_url("fly_graphql", DEFAULT_GRAPHQL_URL), "/graphql")


def logs_url(app: str) -> str:
    """The log-polling endpoint of ``app`` (on the GraphQL host, as flyctl uses it)."""
    parts = urlsplit(graphql_url())
    path = LOGS_PATH.format(app=quote(app, safe=""))
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def app_url(app: str) -> str:
    """The app's public base URL: ``https://<app>.fly.dev`` or ``SHIPIT_FLY_APP_URL_TEMPLATE``."""
    template = os.environ.get(APP_URL_VARIABLE, "").strip() or DEFAULT_APP_URL
    if "{app}" not in template:
        raise UsageError(
            f"{APP_URL_VARIABLE} has no {{app}} placeholder: {template!r}",
            hint=f"set it to a URL such as {DEFAULT_APP_URL}, or unset it",
        )
    return template.replace("{app}", app).rstrip("/")


def token_pieces(raw: str) -> tuple[list[str], list[str]]:
    """``(macaroons, user_tokens)`` of a token as ``fly tokens create`` prints it."""
    text = raw.strip()
    while text.lower().startswith(("bearer ", "flyv1 ")):
        text = text.split(" ", 1)[1].strip()
    pieces = [p.strip() for p in text.split(",") if p.strip()]
    macaroons = [p for p in pieces if p.split("_", 1)[0] in MACAROON_PREFIXES]
    return macaroons, [p for p in pieces if p not in macaroons]


def machines_authorization(raw: str) -> str:
    """The Machines API and logs Authorization header: the macaroons only, else Bearer."""
    macaroons, users = token_pieces(raw)
    if macaroons:
        return "FlyV1 " + ",".join(macaroons)
    return f"Bearer {','.join(users)}"


def graphql_authorization(raw: str) -> str:
    """The GraphQL Authorization header: macaroons first, then user tokens, in one list."""
    macaroons, users = token_pieces(raw)
    if macaroons:
        return "FlyV1 " + ",".join([*macaroons, *users])
    return f"Bearer {','.join(users)}"


def _token(token: Secret | None) -> str:
    if token is None or not token.reveal().strip():
        raise AuthError("no Fly.io token", hint=TOKEN_HINT)
    return token.reveal()


class FlyClient:
    """Sends the adapter's REST endpoints and GraphQL operations (see ``operations.py``)."""

    def __init__(
        self,
        token: Secret | None,
        *,
        verbose: bool = False,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        raw = _token(token)
        self.machines_url = machines_url()
        self.graphql_url = graphql_url()
        self.machines: ProviderClient = make_client(
            "fly",
            base_url=self.machines_url,
            headers={"Authorization": machines_authorization(raw)},
            auth_hint=TOKEN_HINT,
            policy=policy,
            verbose=verbose,
            transport=transport,
        )
        self.graph: ProviderClient = make_client(
            "fly",
            headers={"Authorization": graphql_authorization(raw)},
            auth_hint=TOKEN_HINT,
            auth_messages=AUTH_MESSAGES,
            policy=policy,
            verbose=verbose,
            transport=transport,
        )

    def rest(
        self,
        endpoint: Endpoint,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        hide_body: bool = False,
        **path: str,
    ) -> Any:
        """Send ``endpoint`` with its path filled from ``path``; the JSON answer (None if empty).

        Retried only when the endpoint is safe to repeat (reads, lease release).
        """
        return self._send(endpoint, path, params, body, headers, hide_body)

    def find(self, endpoint: Endpoint, **path: str) -> Any:
        """Like :meth:`rest` for a read, but None when the thing is not there (HTTP 404)."""
        try:
            return self._send(endpoint, path, None, None, None, False)
        except ProviderAPIError as error:
            if error.status == 404:
                return None
            raise

    def _send(
        self,
        endpoint: Endpoint,
        path: Mapping[str, str],
        params: Mapping[str, Any] | None,
        body: Any,
        headers: Mapping[str, str] | None,
        hide_body: bool,
    ) -> Any:
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        if body is not None:
            kwargs["json"] = body
        if headers:
            kwargs["headers"] = dict(headers)
        response = request(
            self.machines,
            endpoint.method,
            self.machines_url + endpoint.url(**path),
            retry=endpoint.retry,
            hide_body=hide_body,
            **kwargs,
        )
        return _json(response)

    def call(self, operation: Operation, **variables: Any) -> dict[str, Any]:
        """Run a GraphQL ``operation``; retried only when the operation allows."""
        return graphql(
            self.graph,
            self.graphql_url,
            operation.document,
            variables,
            operation.name,
            retry=operation.retry,
        )

    def logs(self, app: str, params: Mapping[str, str]) -> Any:
        """One page of the app's logs (JSON:API ``{"data": [...], "meta": {"next_token"}}``)."""
        response = request(self.machines, "GET", logs_url(app), params=dict(params), retry=True)
        return _json(response)

    def close(self) -> None:
        """Close the connection pools."""
        self.machines.close()
        self.graph.close()


def _json(response: httpx.Response) -> Any:
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        return None
