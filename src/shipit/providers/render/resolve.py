"""From shipit's names to Render's ids: the workspace (owner) and each service.

``[environments.E.render].owner`` is a workspace id (``tea-...``; ``usr-``/``own-`` ids are
accepted too) used as is, or else a workspace name or owner email looked up with
``GET /owners``. A service is called ``<name_prefix><remote_name>`` and found with
``GET /services?name=&ownerId=&includePreviews=false``, compared by exact name (names are unique
per workspace). Answers are cached for the life of the adapter.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Final

from shipit.errors import ConfigError
from shipit.providers.render import operations as ops
from shipit.providers.render.client import RenderClient

OWNER_ID: Final = re.compile(r"^(tea|usr|own)-[a-z0-9]+$")


class Resolver:
    """Finds (and caches) the workspace id and the services of one shipit environment."""

    def __init__(
        self, api: RenderClient, *, env_name: str, owner: str, name_prefix: str | None
    ) -> None:
        self.api = api
        self.env_name = env_name
        self.owner = owner.strip()
        self.name_prefix = name_prefix or ""
        self._lock = threading.Lock()
        self._owner_id: str | None = None
        self._services: dict[str, dict[str, Any]] = {}

    def owner_id(self) -> str:
        """The workspace id: the configured one, or the workspace with that name or email."""
        with self._lock:
            if self._owner_id is None:
                self._owner_id = self._lookup_owner()
            return self._owner_id

    def _lookup_owner(self) -> str:
        if OWNER_ID.match(self.owner):
            return self.owner
        key = "email" if "@" in self.owner else "name"
        for owner in self.api.pages(ops.LIST_OWNERS, "owner", params={key: self.owner}):
            if owner.get(key) == self.owner and owner.get("id"):
                return str(owner["id"])
        raise ConfigError(
            f"no Render workspace with {key} {self.owner!r} is visible to this API key",
            key=f"environments.{self.env_name}.render.owner",
            hint="set owner to the workspace id (tea-...) shown on its Settings page in the "
            "Render Dashboard",
        )

    def service_name(self, remote_name: str) -> str:
        """The Render name of a shipit service: ``name_prefix`` + its remote name."""
        return self.name_prefix + remote_name

    def find(self, remote_name: str, *, refresh: bool = False) -> dict[str, Any] | None:
        """The service called ``service_name(remote_name)`` in the workspace, or None."""
        name = self.service_name(remote_name)
        with self._lock:
            cached = self._services.get(name)
        if cached is not None and not refresh:
            return cached
        params = {"name": name, "ownerId": self.owner_id(), "includePreviews": False}
        for service in self.api.pages(ops.LIST_SERVICES, "service", params=params, limit=20):
            details = service.get("serviceDetails") or {}
            if service.get("name") == name and not details.get("parentServer"):
                self.remember(service)
                return service
        return None

    def remember(self, service: dict[str, Any]) -> None:
        """Cache a service object (after a create, update or read)."""
        with self._lock:
            self._services[str(service.get("name"))] = service

    def service_id(self, remote_name: str) -> str | None:
        """The id of the service, or None when it does not exist."""
        service = self.find(remote_name)
        return str(service["id"]) if service else None
