"""One health probe of a running release: its health path over HTTP, else its TCP port."""

from __future__ import annotations

from typing import Any

from shipit.providers.base import HealthResult
from shipit.providers.local.ports import accepts_tcp, url_host

PROBE_TIMEOUT = 2.0


def _reported_release(body: bytes) -> str | None:
    import json

    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    release = data.get("release") if isinstance(data, dict) else None
    return str(release) if release is not None else None


def probe(host: str, port: int, path: str | None) -> HealthResult:
    """``healthy`` on HTTP 200 from ``path`` (or, with no path, an open port), else ``pending``."""
    base = f"http://{url_host(host)}:{port}"
    if path is None:
        if accepts_tcp(host, port, timeout=PROBE_TIMEOUT):
            return HealthResult("healthy", f"port {port} accepts connections", url=base)
        return HealthResult("pending", f"port {port} does not accept connections yet", url=base)
    import httpx

    url = base + path
    try:
        response = httpx.get(url, timeout=PROBE_TIMEOUT, trust_env=False, follow_redirects=False)
    except httpx.HTTPError as exc:
        return HealthResult("pending", f"{path}: {type(exc).__name__}", url=url)
    if response.status_code != 200:
        return HealthResult(
            "pending",
            f"{path} answered HTTP {response.status_code}",
            url=url,
            status_code=response.status_code,
        )
    return HealthResult(
        "healthy",
        f"{path} answered HTTP 200",
        url=url,
        status_code=200,
        release=_reported_release(response.content),
    )
