"""Helpers for the local provider tests: a temp project with the example app, probes, waits."""

from __future__ import annotations

import json
import shlex
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipit.config.loader import load_config
from shipit.config.overlay import Environment, ServiceSpec, resolve_environment
from shipit.providers.base import Artifact, Deployment, HealthResult, ProviderContext
from shipit.providers.local import LocalProvider

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_APP = REPO_ROOT / "examples" / "app"
PYTHON = shlex.quote(sys.executable)

CONFIG = """\
[project]
name = "demo"

[services.web]
source = "app"
start = '{python} app.py'
health_path = "/health"
database = "sqlite"
secrets = ["SECRET_KEY"]
env = {{ DEBUG = "true" }}

[environments.local.local]
port = {local_port}

[environments.preview.local]
port = {preview_port}
"""


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base_port(count: int = 2) -> int:
    """An even port ``p`` such that ``p .. p + count - 1`` are free right now."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        base = port - port % 2
        if 1024 <= base <= 65000 - count and all(_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} free ports in a row")


def runner_pids(root: Path) -> list[int]:
    """Runners started for the project at ``root`` that are still alive (not zombies)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if "shipit.providers.local.runner" in cmdline and str(root) in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@dataclass
class Project:
    """A project folder with shipit.toml and the example app in ``app/``."""

    root: Path
    ports: dict[str, int]
    providers: list[LocalProvider] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return self.root / ".shipit"

    def environment(self, name: str = "local") -> Environment:
        return resolve_environment(load_config(self.root / "shipit.toml"), name)

    def provider(self, name: str = "local") -> LocalProvider:
        """A fresh adapter for environment ``name``, stopped when the test ends."""
        context = ProviderContext(environment=self.environment(name), state_dir=self.state_dir)
        provider = LocalProvider(context)
        self.providers.append(provider)
        return provider

    def service(self, name: str = "web", env: str = "local") -> ServiceSpec:
        return self.environment(env).services[name]

    def change_source(self, text: str = "# changed\n") -> None:
        app = self.root / "app" / "app.py"
        app.write_text(app.read_text() + text)


def wait_health(
    provider: LocalProvider, service: ServiceSpec, deployment: Deployment, timeout: float = 15
) -> HealthResult:
    """Poll ``health`` like the engine does, until it is not pending or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    result = provider.health(service, deployment)
    while result.state == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
        result = provider.health(service, deployment)
    return result


def deploy_live(
    provider: LocalProvider,
    service: ServiceSpec,
    artifact: Artifact,
    release_name: str | None = None,
) -> Deployment:
    """Deploy, wait for the health gate and settle it as healthy."""
    deployment = provider.deploy(service, artifact, release_name=release_name)
    result = wait_health(provider, service, deployment)
    assert result.state == "healthy", result
    provider.settle(service, deployment, healthy=True)
    return deployment


def get_json(url: str) -> Any:
    """GET ``url`` and parse the JSON body."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def refuses(url: str) -> bool:
    """Whether nothing answers at ``url``."""
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return False
    except OSError:
        return True
    return False
