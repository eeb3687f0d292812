"""The app's secrets vault (Machines API ``/apps/<app>/secrets``) and its version.

Writing a secret only stores it: running machines keep their old values until they are updated
(API.md 4.3), so shipit writes every secret first and then deploys once. Values cannot be read
back, only names and digests. Each write answers a vault ``version``; it is passed as
``min_secrets_version`` on every machine create/update, so a machine never boots with an older
replica of the vault. The last version is kept in ``.shipit/fly/<app>.json`` (a cache: without it
the machines simply get the vault as Fly serves it).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipit.providers.fly import operations as ops
from shipit.providers.fly.client import FlyClient
from shipit.sensitive import Secret, reveal


class Vault:
    """Names, digests and writes of one app's secrets, and the vault version last written."""

    def __init__(self, api: FlyClient, app: str, state_dir: Path) -> None:
        self.api = api
        self.app = app
        self.path = state_dir / "fly" / f"{app}.json"
        self._lock = threading.Lock()
        self._version: int | None = None

    def digests(self) -> dict[str, str]:
        """Secret name -> digest (values are never returned)."""
        answer = self.api.rest(ops.SECRETS, app=self.app) or {}
        found: dict[str, str] = {}
        for item in answer.get("secrets") or []:
            if isinstance(item, Mapping) and item.get("name"):
                found[str(item["name"])] = str(item.get("digest") or "")
        return found

    def write(self, values: Mapping[str, str | Secret]) -> int | None:
        """Set many secrets in one call (staged: no machine restarts); the new vault version."""
        body = {"values": {name: reveal(value) for name, value in values.items()}}
        answer = self.api.rest(ops.UPDATE_SECRETS, app=self.app, body=body, hide_body=True)
        return self._remember(answer)

    def delete(self, name: str) -> int | None:
        """Remove one secret; the new vault version."""
        answer = self.api.rest(ops.DELETE_SECRET, app=self.app, name=name)
        return self._remember(answer)

    @property
    def version(self) -> int | None:
        """The vault version machines must be built with (None: no write known)."""
        with self._lock:
            if self._version is None:
                self._version = self._load()
            return self._version

    def _remember(self, answer: Any) -> int | None:
        if not isinstance(answer, Mapping):
            return self.version
        raw = answer.get("version", answer.get("Version"))
        if not isinstance(raw, int) or isinstance(raw, bool):
            return self.version
        with self._lock:
            if self._version is None or raw > self._version:
                self._version = raw
                self._save(raw)
            return self._version

    def _load(self) -> int | None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        value = data.get("secrets_version") if isinstance(data, dict) else None
        return value if isinstance(value, int) else None

    def _save(self, version: int) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(handle, "w") as stream:
                json.dump({"secrets_version": version}, stream)
            Path(temporary).replace(self.path)
        except OSError:
            pass  # only a cache
