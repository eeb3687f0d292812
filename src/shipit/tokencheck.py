"""Checking a provider token with one cheap, read-only call before ``shipit login`` stores it.

- railway: ``query { me { id email name } }`` (account tokens); a workspace token cannot read
  ``me``, so on "Not Authorized" it tries ``projects(first: 1)``, which such a token can list.
  URL: ``SHIPIT_RAILWAY_API_URL`` (default ``https://backboard.railway.com/graphql/v2``).
- render: ``GET /users`` (``SHIPIT_RENDER_API_URL``, default ``https://api.render.com/v1``).
- fly: ``GET /tokens/current`` (``SHIPIT_FLY_MACHINES_URL``, default
  ``https://api.machines.dev/v1``).

An adapter module may offer its own ``check_token(token) -> str``; it is used when present.
Rejections raise AuthError (exit 3); transport and server failures ProviderAPIError (exit 4).
Requests go through :mod:`shipit.http` (timeouts, User-Agent, retries of reads, trace masking).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipit.errors import AuthError

if TYPE_CHECKING:
    from shipit.credentials import Token
    from shipit.http import ProviderClient

RAILWAY_URL = "https://backboard.railway.com/graphql/v2"
RENDER_URL = "https://api.render.com/v1"
FLY_MACHINES_URL = "https://api.machines.dev/v1"

ME_QUERY = "query ShipitLoginMe { me { id email name } }"
PROJECTS_QUERY = "query ShipitLoginProjects { projects(first: 1) { edges { node { id } } } }"


def check_token(provider: str, token: Token, *, verbose: bool = False) -> str:
    """Who ``token`` acts as (an email, name or token kind); AuthError when it is refused."""
    adapter_check = _adapter_check(provider)
    if adapter_check is not None:
        return str(adapter_check(token))
    checks: dict[str, Callable[[ProviderClient, Token], str]] = {
        "railway": _check_railway,
        "render": _check_render,
        "fly": _check_fly,
    }
    check = checks.get(provider)
    if check is None:
        return "unchecked"
    from shipit.http import make_client

    hint = f"create a new token and run `shipit login {provider}` again; it was not stored"
    with make_client(provider, auth_hint=hint, verbose=verbose) as client:
        return check(client, token)


def _adapter_check(provider: str) -> Callable[[Token], Any] | None:
    try:
        module = importlib.import_module(f"shipit.providers.{provider}")
    except ImportError:
        return None
    check = getattr(module, "check_token", None)
    return check if callable(check) else None


def _check_railway(client: ProviderClient, token: Token) -> str:
    from shipit.http import GraphQLResponseError, base_url, graphql

    url = base_url("railway", RAILWAY_URL)
    if url.rstrip("/").count("/") <= 2:  # scheme://host only: Railway's path
        url = url.rstrip("/") + "/graphql/v2"
    if token.kind == "project":
        client.headers["Project-Access-Token"] = token.value.reveal()
    else:
        client.headers["Authorization"] = f"Bearer {token.value.reveal()}"
    try:
        data = graphql(client, url, ME_QUERY, operation_name="ShipitLoginMe", retry=True)
    except GraphQLResponseError as error:
        if not error.mentions("not authorized"):
            raise _rejected("railway", error.messages[0] if error.messages else "") from None
        try:
            graphql(client, url, PROJECTS_QUERY, operation_name="ShipitLoginProjects", retry=True)
        except GraphQLResponseError as second:
            detail = second.messages[0] if second.messages else "not authorized"
            raise _rejected("railway", detail) from None
        return "workspace token"
    me = data.get("me") or {}
    return str(me.get("email") or me.get("name") or me.get("id") or "account token")


def _rejected(provider: str, detail: str) -> AuthError:
    from shipit.sensitive import redact

    return AuthError(
        f"{provider} refused the token: {redact(detail)}",
        hint=f"create a new token and run `shipit login {provider}` again; it was not stored",
    )


def _check_render(client: ProviderClient, token: Token) -> str:
    from shipit.http import base_url, request

    url = base_url("render", RENDER_URL)
    headers = {"Authorization": f"Bearer {token.value.reveal()}", "Accept": "application/json"}
    response = request(client, "GET", f"{url}/users", headers=headers, retry=True)
    body = response.json()
    return str(body.get("email") or body.get("name") or "api key")


def _check_fly(client: ProviderClient, token: Token) -> str:
    from shipit.http import base_url, request
    from shipit.providers.fly.client import machines_authorization

    url = base_url("fly_machines", FLY_MACHINES_URL)
    headers = {"Authorization": machines_authorization(token.value.reveal())}
    response = request(client, "GET", f"{url}/tokens/current", headers=headers, retry=True)
    tokens = response.json().get("tokens") or [{}]
    first = tokens[0] if isinstance(tokens, list) and tokens else {}
    return str(first.get("user") or first.get("org_slug") or "fly token")
