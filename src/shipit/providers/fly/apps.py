"""The Fly app of one environment: found, or created on first use, with its public addresses.

App names are global. ``GET /v1/apps/<app>`` answers 200 (ours), 404 (free: create it with
``POST /v1/apps`` in the block's org) or 403 (taken by an app this token cannot see). The GraphQL
``createApp`` mutation is the fallback when the REST create is not available (API.md 3). A new
app gets a shared IPv4 and an IPv6 address before its first machine, as flyctl does, so it
answers on ``<app>.fly.dev``.
"""

from __future__ import annotations

import threading
from typing import Any

from shipit.config.models import FlyBlock
from shipit.errors import AuthError, ConfigError, ProviderAPIError
from shipit.http import GraphQLResponseError
from shipit.providers.fly import operations as ops
from shipit.providers.fly.client import FlyClient


class Apps:
    """Finds or creates the environment's app (answers cached for the adapter's life)."""

    def __init__(self, api: FlyClient, block: FlyBlock, *, env_name: str) -> None:
        self.api = api
        self.block = block
        self.key = f"environments.{env_name}.fly"
        self._lock = threading.RLock()
        self._app: dict[str, Any] | None = None
        self._ips_ready = False
        self._raw_org: str | None = None

    @property
    def name(self) -> str:
        """The app's name."""
        return self.block.app

    def find(self) -> dict[str, Any] | None:
        """The app, or None when no app has this name."""
        with self._lock:
            if self._app is None:
                self._app = self._get()
            return self._app

    def ensure(self) -> dict[str, Any]:
        """The app, created in the block's org when it does not exist."""
        with self._lock:
            found = self.find()
            if found is not None:
                return found
            self._create()
            self._app = self._get() or {"name": self.name, "status": "pending"}
            return self._app

    def _get(self) -> dict[str, Any] | None:
        try:
            found = self.api.find(ops.APP, app=self.name)
        except AuthError as error:
            if "HTTP 403" not in str(error):
                raise
            raise ConfigError(
                f"the Fly app name {self.name!r} is taken by an app this token cannot see",
                key=f"{self.key}.app",
                hint="app names are global: pick another name, or use a token of the org "
                "that owns the app",
            ) from None
        return found if isinstance(found, dict) else None

    def _create(self) -> None:
        body = {"name": self.name, "org_slug": self.block.org}
        try:
            self.api.rest(ops.CREATE_APP, body=body)
        except ProviderAPIError as error:
            if error.status == 422 and "taken" in error.message.casefold():
                raise ConfigError(
                    f"the Fly app name {self.name!r} is taken",
                    key=f"{self.key}.app",
                    hint="app names are global across Fly.io: choose another name",
                ) from None
            if error.status in {404, 405, 501}:
                self._create_with_graphql()
                return
            raise

    def _create_with_graphql(self) -> None:
        organization = self._organization()
        self.api.call(
            ops.CREATE_APP_GRAPHQL,
            input={"organizationId": organization["id"], "name": self.name, "machines": True},
        )

    def _organization(self) -> dict[str, Any]:
        try:
            data = self.api.call(ops.ORGANIZATION, slug=self.block.org)
        except GraphQLResponseError as error:
            if error.mentions("not found") or error.mentions("could not find"):
                raise ConfigError(
                    f"no Fly organization {self.block.org!r} is visible to this token",
                    key=f"{self.key}.org",
                    hint="set org to a slug from `fly orgs list` (personal is your own)",
                ) from None
            raise
        organization = data.get("organization")
        if not isinstance(organization, dict) or not organization.get("id"):
            raise ConfigError(
                f"no Fly organization {self.block.org!r} is visible to this token",
                key=f"{self.key}.org",
                hint="set org to a slug from `fly orgs list` (personal is your own)",
            )
        return organization

    def raw_org(self) -> str:
        """The org's real slug (Managed Postgres does not take the ``personal`` alias)."""
        with self._lock:
            if self._raw_org is None:
                organization = self._organization()
                self._raw_org = str(organization.get("rawSlug") or organization.get("slug"))
            return self._raw_org

    def ensure_ips(self) -> None:
        """Give the app a shared IPv4 and an IPv6 address when it has no public address."""
        with self._lock:
            if self._ips_ready:
                return
            listed = self.api.rest(ops.IPS, app=self.name) or {}
            public = [
                ip
                for ip in listed.get("ips") or []
                if isinstance(ip, dict) and not str(ip.get("ip", "")).startswith("fdaa:")
            ]
            if not public:
                for kind in ("shared_v4", "v6"):
                    self.api.rest(ops.ASSIGN_IP, app=self.name, body={"type": kind})
            self._ips_ready = True
