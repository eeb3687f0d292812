"""Render's transport: the REST base URL, the API key header, JSON answers and cursor paging.

``RENDER_API_KEY`` (also what ``shipit login render`` stores) is sent as ``Authorization:
Bearer``. ``SHIPIT_RENDER_API_URL`` replaces the base URL ``https://api.render.com/v1`` (tests,
proxies); it is used as given, so include the ``/v1`` path when the server expects it.
Requests go through :mod:`shipit.http` (timeouts, retries of repeatable calls, one response
check: 401/403 -> AuthError, other failures -> ProviderAPIError).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

import httpx

from shipit.errors import AuthError, ProviderAPIError
from shipit.http import RetryPolicy, base_url, make_client, request
from shipit.providers.render.operations import Operation
from shipit.sensitive import Secret

DEFAULT_URL: Final = "https://api.render.com/v1"
TOKEN_HINT: Final = (
    "set RENDER_API_KEY (Render Dashboard > Account settings > API keys) "
    "or run `shipit login render`"
)
PAGE_LIMIT: Final = 100

Params = Mapping[str, Any]


def api_url() -> str:
    """The API base URL: ``SHIPIT_RENDER_API_URL`` or Render's own."""
    return base_url("render", DEFAULT_URL)


def auth_headers(token: Secret | None) -> dict[str, str]:
    """The headers that carry the API key (the one place it is revealed)."""
    if token is None or not token.reveal():
        raise AuthError("no Render API key", hint=TOKEN_HINT)
    return {"Authorization": f"Bearer {token.reveal()}", "Accept": "application/json"}


class RenderClient:
    """Sends the adapter's operations (see ``operations.py``) to Render's REST API."""

    def __init__(
        self,
        token: Secret | None,
        *,
        url: str | None = None,
        verbose: bool = False,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = (url or api_url()).rstrip("/")
        self.http = make_client(
            "render",
            headers=auth_headers(token),
            auth_hint=TOKEN_HINT,
            policy=policy,
            verbose=verbose,
            transport=transport,
        )

    def send(
        self,
        operation: Operation,
        *,
        path: Mapping[str, str] | None = None,
        params: Params | None = None,
        body: Any = None,
    ) -> httpx.Response:
        """Send ``operation``; retried only when the operation allows; errors are raised."""
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = {k: _param(v) for k, v in params.items()}
        if body is not None:
            kwargs["json"] = body
        return request(
            self.http,
            operation.method,
            self.url + operation.url(**(path or {})),
            retry=operation.retry,
            hide_body=operation.secret_answer,
            **kwargs,
        )

    def call(
        self,
        operation: Operation,
        *,
        path: Mapping[str, str] | None = None,
        params: Params | None = None,
        body: Any = None,
    ) -> Any:
        """Send ``operation`` and return its JSON answer (None for an empty body)."""
        response = self.send(operation, path=path, params=params, body=body)
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            raise ProviderAPIError(
                "render",
                f"the answer to {operation.name} is not JSON",
                status=response.status_code,
            ) from None

    def pages(
        self,
        operation: Operation,
        key: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Params | None = None,
        limit: int = PAGE_LIMIT,
        most: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The ``key`` objects of a cursor-paged list (``[{cursor, <key>}]``), up to ``most``.

        The next page repeats the request with the cursor of the last element; a page shorter
        than ``limit`` is the last one.
        """
        given = 0
        cursor: str | None = None
        while True:
            query: dict[str, Any] = {**(params or {}), "limit": limit}
            if cursor:
                query["cursor"] = cursor
            page = self.call(operation, path=path, params=query)
            items = page if isinstance(page, list) else []
            for item in items:
                value = item.get(key) if isinstance(item, Mapping) else None
                if isinstance(value, dict):
                    yield value
                    given += 1
                    if most is not None and given >= most:
                        return
            last = items[-1] if items else None
            cursor = last.get("cursor") if isinstance(last, Mapping) else None
            if len(items) < limit or not cursor:
                return

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


def _param(value: Any) -> str | list[str]:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return str(value)
