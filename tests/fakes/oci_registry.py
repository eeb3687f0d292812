"""OCI registries for tests: Debian's real ``docker-registry`` on a free loopback port, a tiny
registry that demands Bearer tokens, and a way to push a small image with plain HTTP calls."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
MISSING_BINARIES = [
    name for name in ("docker-registry", "buildah", "htpasswd") if not shutil.which(name)
]
SKIP_REASON = (
    f"needs {', '.join(MISSING_BINARIES)} (apt-get install docker-registry buildah apache2-utils)"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_htpasswd(path: Path, user: str, password: str) -> Path:
    """An htpasswd file with one bcrypt entry (the only hash docker-registry accepts)."""
    done = subprocess.run(
        ["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=True
    )
    path.write_text(done.stdout)
    return path


@dataclass
class RunningRegistry:
    """A started registry: its ``host`` (127.0.0.1:PORT) and base URL."""

    host: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def _config(root: Path, port: int, htpasswd: Path | None) -> str:
    lines = [
        "version: 0.1",
        "log:",
        "  level: error",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {root / 'data'}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: 127.0.0.1:{port}",
        f"  secret: {secrets.token_hex(16)}",
    ]
    if htpasswd is not None:
        lines += ["auth:", "  htpasswd:", "    realm: shipit-test", f"    path: {htpasswd}"]
    return "\n".join(lines) + "\n"


@contextmanager
def docker_registry(root: Path, *, htpasswd: Path | None = None) -> Iterator[RunningRegistry]:
    """Run ``docker-registry serve`` on a free loopback port; stopped on exit."""
    root.mkdir(parents=True, exist_ok=True)
    for _attempt in range(3):
        port = free_port()
        config = root / "config.yml"
        config.write_text(_config(root, port, htpasswd))
        log = (root / "registry.log").open("wb")
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            if _wait_ready(process, port):
                yield RunningRegistry(f"127.0.0.1:{port}", process)
                return
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
    raise RuntimeError(f"docker-registry did not start: {(root / 'registry.log').read_text()}")


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False  # most likely the port was taken in the meantime: try another
        try:
            httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1)
        except httpx.HTTPError:
            time.sleep(0.05)
            continue
        return True
    return False


def push_small_image(
    base_url: str, repository: str, tag: str, *, auth: tuple[str, str] | None = None
) -> str:
    """Upload a one-layer image with plain registry calls; returns the manifest digest."""
    layer = b"not really a tarball, but a registry does not look inside"
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    with httpx.Client(base_url=base_url, auth=auth, timeout=10) as client:
        descriptors = []
        for blob, media_type in (
            (config, "application/vnd.docker.container.image.v1+json"),
            (layer, "application/vnd.docker.image.rootfs.diff.tar.gzip"),
        ):
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            started = client.post(f"/v2/{repository}/blobs/uploads/")
            started.raise_for_status()
            location = started.headers["Location"]
            joiner = "&" if "?" in location else "?"
            done = client.put(
                f"{location}{joiner}digest={digest}",
                content=blob,
                headers={"Content-Type": "application/octet-stream"},
            )
            done.raise_for_status()
            descriptors.append({"mediaType": media_type, "size": len(blob), "digest": digest})
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_V2,
                "config": descriptors[0],
                "layers": descriptors[1:],
            }
        ).encode()
        put = client.put(
            f"/v2/{repository}/manifests/{tag}",
            content=manifest,
            headers={"Content-Type": MANIFEST_V2},
        )
        put.raise_for_status()
        return str(put.headers["Docker-Content-Digest"])


# --- a registry that demands Bearer tokens ---------------------------------------------------


@dataclass
class BearerRegistry:
    """A fake registry: ``/token`` issues tokens for ``users``; ``/v2/`` demands them.

    ``manifests`` maps ``(repository, tag)`` to a digest; ``any_tag`` answers every tag of a
    repository with that digest (for pushes done by a fake builder). ``public`` repositories get
    anonymous tokens. Every request is recorded in ``requests``.
    """

    users: dict[str, str] = field(default_factory=dict)
    manifests: dict[tuple[str, str], str] = field(default_factory=dict)
    any_tag: dict[str, str] = field(default_factory=dict)
    public: set[str] = field(default_factory=set)
    service: str = "fake-registry"
    requests: list[dict[str, Any]] = field(default_factory=list)
    host: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}"


def _handler(registry: BearerRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _record(self) -> None:
            registry.requests.append(
                {"method": self.command, "path": self.path, "headers": dict(self.headers.items())}
            )

        def _reply(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _token(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            scope = query.get("scope", [""])[0]
            repository = scope.split(":")[1] if scope.count(":") >= 2 else ""
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                if registry.users.get(user) != password:
                    self._reply(401, {"Content-Type": "application/json"}, b'{"details":"bad"}')
                    return
            elif repository not in registry.public:
                self._reply(401, {"Content-Type": "application/json"}, b'{"details":"login"}')
                return
            token = secrets.token_hex(16)
            registry.tokens[token] = scope
            body = json.dumps({"token": token, "expires_in": 300}).encode()
            self._reply(200, {"Content-Type": "application/json"}, body)

        def _authorized(self, repository: str) -> bool:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                return False
            scope = registry.tokens.get(header[7:])
            return scope is not None and (not repository or f":{repository}:" in scope)

        def _challenge(self, repository: str) -> None:
            value = f'Bearer realm="{registry.url}/token",service="{registry.service}"'
            if repository:
                value += f',scope="repository:{repository}:pull"'
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
            self._reply(401, {"WWW-Authenticate": value, "Content-Type": "application/json"}, body)

        def _serve(self) -> None:
            self._record()
            path = urlsplit(self.path).path
            if path == "/token":
                self._token()
                return
            repository, tag = "", ""
            if "/manifests/" in path:
                repository, tag = path[len("/v2/") :].split("/manifests/", 1)
            if not self._authorized(repository):
                self._challenge(repository)
                return
            if path == "/v2/":
                self._reply(200, {"Content-Type": "application/json"}, b"{}")
                return
            digest = registry.manifests.get((repository, tag)) or registry.any_tag.get(repository)
            if digest is None:
                body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
                self._reply(404, {"Content-Type": "application/json"}, body)
                return
            self._reply(200, {"Docker-Content-Digest": digest, "Content-Type": MANIFEST_V2}, b"{}")

        do_GET = _serve
        do_HEAD = _serve

    return Handler


@contextmanager
def bearer_registry(registry: BearerRegistry) -> Iterator[BearerRegistry]:
    """Serve ``registry`` on a free loopback port in a thread; shut down on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    registry.host = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
