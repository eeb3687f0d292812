"""Image references: Docker's normalisation rules, loopback detection, and clear config errors."""

from __future__ import annotations

import pytest

from shipit.artifacts.reference import ImageReference, is_loopback_host, parse_reference
from shipit.errors import ConfigError, ExitCode

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("nginx", "docker.io", "library/nginx", None, None),
        ("nginx:1.25", "docker.io", "library/nginx", "1.25", None),
        ("me/app:v1", "docker.io", "me/app", "v1", None),
        ("index.docker.io/me/app", "docker.io", "me/app", None, None),
        ("registry.fly.io/my-app", "registry.fly.io", "my-app", None, None),
        ("ghcr.io/me/team/app:v1.2_3", "ghcr.io", "me/team/app", "v1.2_3", None),
        ("localhost/app", "localhost", "app", None, None),
        ("localhost:5000/app:dev", "localhost:5000", "app", "dev", None),
        (f"127.0.0.1:5000/a/b@{DIGEST}", "127.0.0.1:5000", "a/b", None, DIGEST),
        (f"ghcr.io/me/app:v1@{DIGEST}", "ghcr.io", "me/app", "v1", DIGEST),
        ("[::1]:5000/app:t", "[::1]:5000", "app", "t", None),
    ],
)
def test_parse(text: str, registry: str, repository: str, tag: str | None, digest: str | None):
    ref = parse_reference(text)
    assert ref == ImageReference(registry, repository, tag, digest)


def test_forms_and_urls():
    hub = parse_reference("nginx")
    assert hub.name == "docker.io/library/nginx"
    assert hub.reference == "latest"
    assert hub.base_url == "https://registry-1.docker.io"
    local = parse_reference("127.0.0.1:5000/app:v1")
    assert local.base_url == "http://127.0.0.1:5000"
    assert local.with_tag("abc") == "127.0.0.1:5000/app:abc"
    assert local.pinned(DIGEST) == f"127.0.0.1:5000/app@{DIGEST}"
    assert str(local) == "127.0.0.1:5000/app:v1"
    assert (
        parse_reference("registry.example.com:443/app").base_url
        == "https://registry.example.com:443"
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("127.0.0.1:5000", True),
        ("127.3.4.5", True),
        ("[::1]:5000", True),
        ("::1", True),
        ("10.0.0.1:5000", False),
        ("registry.fly.io", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback(host: str, loopback: bool):
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("MyApp", "lowercase"),
        ("ghcr.io/Me/app", "lowercase"),
        ("app:bad!tag", "not a valid tag"),
        ("app@sha256:1234", "digest"),
        ("app//web", "repository path component"),
    ],
)
def test_invalid_reference_is_a_config_error(text: str, reason: str):
    with pytest.raises(ConfigError) as caught:
        parse_reference(text, key="services.web.image")
    assert reason in str(caught.value)
    assert "services.web.image" in str(caught.value)
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.hint
