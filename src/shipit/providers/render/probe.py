"""A Render service's public URL and one probe of its health path there.

The URL is Render's (``serviceDetails.url``, ``https://<slug>.onrender.com``) unless
``SHIPIT_RENDER_SERVICE_URL_TEMPLATE`` is set (tests, proxies): a template with ``{name}``,
``{slug}`` and ``{id}``, e.g. ``http://127.0.0.1:8080/apps/{slug}``. Private services and workers
have no public URL. The probe itself is the shared one (``shipit.providers.probe``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

from shipit.errors import UsageError
from shipit.providers.base import HealthResult
from shipit.providers.probe import Prober

SERVICE_URL_VARIABLE: Final = "SHIPIT_RENDER_SERVICE_URL_TEMPLATE"


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


def probe(prober: Prober, url: str | None, health_path: str | None, status: str) -> HealthResult:
    """One probe of ``url + health_path``; healthy without a path or URL (Render checked)."""
    extra = {"status": status}
    if not health_path or not url:
        detail = f"Render: {status}"
        if health_path:
            detail += " (no public URL to probe; Render checked the health path)"
        return HealthResult("healthy", detail, url=url, extra=extra)
    return prober.probe(url, health_path, extra=extra)
