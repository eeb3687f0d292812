"""One GET of a service's health path on its public URL, for the hosted adapters' health gates.

The probe carries no provider token and has short timeouts: 2xx is healthy, anything else (or no
answer) means "ask again". A JSON body with a ``release`` (or ``version``) string names the
release that answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import httpx

from shipit.http import make_client
from shipit.providers.base import HealthResult

PROBE_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)


class Prober:
    """GETs health paths for one adapter through one client, opened on first use."""

    def __init__(
        self, provider: str, *, verbose: bool = False, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.provider = provider
        self.verbose = verbose
        self.transport = transport
        self._client: httpx.Client | None = None

    def probe(
        self, url: str, health_path: str, *, extra: Mapping[str, Any] | None = None
    ) -> HealthResult:
        """One GET of ``url + health_path``: healthy on 2xx, else pending."""
        extra = extra or {}
        target = url + health_path
        try:
            response = self._http().get(target)
        except httpx.HTTPError as error:
            return HealthResult(
                "pending", f"{target}: {type(error).__name__}", url=url, extra=extra
            )
        detail = f"{target} answered HTTP {response.status_code}"
        if not response.is_success:
            return HealthResult(
                "pending", detail, url=url, status_code=response.status_code, extra=extra
            )
        return HealthResult(
            "healthy",
            detail,
            url=url,
            status_code=response.status_code,
            release=reported_release(response),
            extra=extra,
        )

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = make_client(
                self.provider,
                timeout=PROBE_TIMEOUT,
                verbose=self.verbose,
                transport=self.transport,
            )
        return self._client

    def close(self) -> None:
        """Close the client, if one was opened."""
        if self._client is not None:
            self._client.close()


def reported_release(response: httpx.Response) -> str | None:
    """The ``release`` (else ``version``) string of a JSON answer, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, Mapping):
        for key in ("release", "version"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return None
