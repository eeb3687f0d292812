"""Against real registries: Debian's docker-registry (open, and with htpasswd Basic auth), a
Bearer-token registry, and one real buildah build pushed with credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.fakes.oci_registry import (
    MANIFEST_V2,
    MISSING_BINARIES,
    SKIP_REASON,
    BearerRegistry,
    RunningRegistry,
    bearer_registry,
    docker_registry,
    free_port,
    push_small_image,
    write_htpasswd,
)

from shipit.artifacts import build_image, resolve_image
from shipit.config import load_config, resolve_environment
from shipit.errors import AuthError, ExitCode, ProviderAPIError

needs_registry = pytest.mark.skipif(bool(MISSING_BINARIES), reason=SKIP_REASON)
USER, PASSWORD = "alice", "htpasswd-pass-91c2"
DIGEST = "sha256:" + "d" * 64
ACCEPT = (
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)


@pytest.fixture(scope="module")
def open_registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningRegistry, str]]:
    with docker_registry(tmp_path_factory.mktemp("open-registry")) as registry:
        digest = push_small_image(registry.url, "team/api", "v1")
        yield registry, digest


@pytest.fixture(scope="module")
def basic_registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningRegistry, str]]:
    root = tmp_path_factory.mktemp("basic-registry")
    htpasswd = write_htpasswd(root / "htpasswd", USER, PASSWORD)
    with docker_registry(root / "registry", htpasswd=htpasswd) as registry:
        digest = push_small_image(registry.url, "team/api", "v1", auth=(USER, PASSWORD))
        yield registry, digest


def login(monkeypatch: pytest.MonkeyPatch, password: str = PASSWORD) -> None:
    monkeypatch.setenv("SHIPIT_REGISTRY_USERNAME", USER)
    monkeypatch.setenv("SHIPIT_REGISTRY_PASSWORD", password)


@pytest.mark.registry
@needs_registry
class TestOpenRegistry:
    def test_tag_resolves_to_the_registry_digest(self, open_registry):
        registry, pushed = open_registry
        artifact = resolve_image(f"{registry.host}/team/api:v1")
        head = httpx.head(
            f"{registry.url}/v2/team/api/manifests/v1", headers={"Accept": MANIFEST_V2}
        )
        assert artifact.digest == head.headers["Docker-Content-Digest"] == pushed
        assert artifact.ref == f"{registry.host}/team/api@{pushed}"
        assert artifact.tag == "v1"
        assert artifact.kind == "image"

    def test_unknown_tag(self, open_registry):
        registry, _ = open_registry
        with pytest.raises(ProviderAPIError) as caught:
            resolve_image(f"{registry.host}/team/api:v9")
        message = str(caught.value)
        assert f"{registry.host}/team/api:v9 not found" in message
        assert "no tag 'v9'" in message
        assert caught.value.exit_code == ExitCode.PROVIDER


@pytest.mark.registry
@needs_registry
class TestBasicAuthRegistry:
    def test_resolves_with_credentials(self, basic_registry, monkeypatch):
        registry, pushed = basic_registry
        login(monkeypatch)
        assert resolve_image(f"{registry.host}/team/api:v1").digest == pushed

    def test_wrong_password(self, basic_registry, monkeypatch):
        registry, _ = basic_registry
        login(monkeypatch, "wrong-password-55")
        with pytest.raises(AuthError) as caught:
            resolve_image(f"{registry.host}/team/api:v1")
        assert f"registry {registry.host} rejected the credentials of user 'alice'" in str(
            caught.value
        )
        assert caught.value.exit_code == ExitCode.AUTH

    def test_no_credentials(self, basic_registry):
        registry, _ = basic_registry
        with pytest.raises(AuthError, match="needs credentials") as caught:
            resolve_image(f"{registry.host}/team/api:v1")
        assert "SHIPIT_REGISTRY_USERNAME" in (caught.value.hint or "")

    def test_real_build_pushed_with_credentials(self, basic_registry, tmp_path: Path, monkeypatch):
        registry, _ = basic_registry
        login(monkeypatch)
        monkeypatch.setenv(
            "SHIPIT_BUILDAH_ARGS",
            f"--storage-driver vfs --root {tmp_path / 'storage'} --runroot {tmp_path / 'run'}",
        )
        monkeypatch.setenv("BUILDAH_ISOLATION", "chroot")
        root = tmp_path / "project"
        root.mkdir()
        (root / "hello.txt").write_text("hello from a real build\n")
        (root / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
        (root / "shipit.toml").write_text(
            f'[project]\nname = "demo"\n\n[services.web]\nimage = "{registry.host}/team/web"\n'
            '\n[services.web.build]\n\n[environments.staging]\nprovider = "local"\n'
        )
        env = resolve_environment(load_config(root / "shipit.toml"), "staging")
        artifact = build_image(env, env.services["web"], builder="buildah")
        head = httpx.head(
            f"{registry.url}/v2/team/web/manifests/{artifact.tag}",
            headers={"Accept": ACCEPT},
            auth=(USER, PASSWORD),
        )
        assert head.status_code == 200
        assert artifact.digest == head.headers["Docker-Content-Digest"]
        assert artifact.ref == f"{registry.host}/team/web@{artifact.digest}"
        assert artifact.extra["builder"] == "buildah"


def test_unreachable_registry():
    port = free_port()
    with pytest.raises(ProviderAPIError) as caught:
        resolve_image(f"127.0.0.1:{port}/team/api:v1")
    assert f"cannot reach registry 127.0.0.1:{port} over http" in str(caught.value)
    assert "plain HTTP only for loopback" in (caught.value.hint or "")
    assert caught.value.exit_code == ExitCode.PROVIDER


def test_pinned_reference_is_returned_without_network():
    image = f"127.0.0.1:{free_port()}/team/api@{DIGEST}"
    artifact = resolve_image(image)
    assert (artifact.ref, artifact.digest, artifact.kind) == (image, DIGEST, "image")


class TestBearerRegistry:
    @pytest.fixture
    def registry(self) -> Iterator[BearerRegistry]:
        fake = BearerRegistry(
            users={"bob": "bearer-pass-3e"},
            manifests={("team/api", "v1"): DIGEST, ("library/public", "latest"): DIGEST},
            public={"library/public"},
        )
        with bearer_registry(fake) as running:
            yield running

    def test_token_exchange(self, registry: BearerRegistry, monkeypatch):
        monkeypatch.setenv("SHIPIT_REGISTRY_USERNAME", "bob")
        monkeypatch.setenv("SHIPIT_REGISTRY_PASSWORD", "bearer-pass-3e")
        artifact = resolve_image(f"{registry.host}/team/api:v1")
        assert artifact.ref == f"{registry.host}/team/api@{DIGEST}"
        first, token, retried = registry.requests
        assert (first["method"], first["path"]) == ("HEAD", "/v2/team/api/manifests/v1")
        assert first["headers"]["Accept"] == ACCEPT
        assert "Authorization" not in first["headers"]
        assert token["path"] == "/token?scope=repository%3Ateam%2Fapi%3Apull&service=fake-registry"
        assert token["headers"]["Authorization"].startswith("Basic ")
        assert retried["headers"]["Authorization"].startswith("Bearer ")

    def test_anonymous_token_for_a_public_image(self, registry: BearerRegistry):
        artifact = resolve_image(f"{registry.host}/library/public")
        assert (artifact.digest, artifact.tag) == (DIGEST, "latest")
        token = registry.requests[1]
        assert "Authorization" not in token["headers"]

    def test_wrong_credentials(self, registry: BearerRegistry, monkeypatch):
        monkeypatch.setenv("SHIPIT_REGISTRY_USERNAME", "bob")
        monkeypatch.setenv("SHIPIT_REGISTRY_PASSWORD", "nope-nope")
        with pytest.raises(AuthError, match="rejected the credentials of user 'bob'"):
            resolve_image(f"{registry.host}/team/api:v1")

    def test_private_image_without_credentials(self, registry: BearerRegistry):
        with pytest.raises(AuthError, match="needs credentials"):
            resolve_image(f"{registry.host}/team/api:v1")
