"""A Render service's public URL and one probe of its health path there.

The URL is Render's (``serviceDetails.url``, ``https://<slug>.onrender.com``) unless
``SHIPIT_RENDER_SERVICE_URL_TEMPLATE`` is set (tests, proxies): a template with ``{name}``,
``{slug}`` and ``{id}``, e.g. ``http://127.0.0.1:8080/apps/{slug}``. Private services and workers
have no public URL. The probe is one GET without the Render key, with short timeouts; 2xx is
healthy, anything else (or no answer) means "ask again".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

import httpx

from shipit.errors import UsageError
from shipit.http import make_client
from shipit.providers.base import HealthResult

SERVICE_URL_VARIABLE: Final = "SHIPIT_RENDER_SERVICE_URL_TEMPLATE"
PROBE_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)


def service_url(render_service: Mapping[str, Any]) -> str | None:
    """The public URL: the template in SHIPIT_RENDER_SERVICE_URL_TEMPLATE, else Render's."""
    template = os.environ.get(SERVICE_URL_VARIABLE, "").strip()
    name = str(render_service.get("name") or "")
    slug = str(render_service.get("slug") or name)
    if template:
        try:
            url = template.format(name=name, slug=slug, id=render_service.get("id", ""))
        except (KeyError, IndexError, ValueError):
            raise UsageError(
                f"{SERVICE_URL_VARIABLE} is not a valid template: {template!r}",
                hint="use the placeholders {name}, {slug} and {id}, "
                "e.g. http://127.0.0.1:8080/apps/{slug}",
            ) from None
        return url.rstrip("/")
    if render_service.get("type") not in (None, "web_service"):
        return None
    details = render_service.get("serviceDetails") or {}
    given = details.get("url")
    if isinstance(given, str) and given.startswith(("http://", "https://")):
        return given.rstrip("/")
    return f"https://{slug}.onrender.com" if slug else None


class Prober:
    """GETs a service's health path: no Render key, short timeouts, no retries."""

    def __init__(
        self, *, verbose: bool = False, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.verbose = verbose
        self.transport = transport
        self._client: httpx.Client | None = None

    def probe(self, url: str | None, health_path: str | None, status: str) -> HealthResult:
        """One probe of ``url + health_path``; healthy without a path or URL (Render checked)."""
        extra = {"status": status}
        if not health_path or not url:
            detail = f"Render: {status}"
            if health_path:
                detail += " (no public URL to probe; Render checked the health path)"
            return HealthResult("healthy", detail, url=url, extra=extra)
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
            release=_reported_release(response),
            extra=extra,
        )

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = make_client(
                "render", timeout=PROBE_TIMEOUT, verbose=self.verbose, transport=self.transport
            )
        return self._client

    def close(self) -> None:
        """Close the client, if one was opened."""
        if self._client is not None:
            self._client.close()


def _reported_release(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, Mapping):
        for key in ("release", "version"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return None
