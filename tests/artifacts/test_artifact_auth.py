"""Registry credentials: lookup order, keyring failures, challenges and the builder's auth file."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.credentials import SimpleCredential

from shipit.artifacts.auth import (
    auth_config,
    host_variables,
    lookup_credentials,
    parse_challenges,
    pick_challenge,
    scope_for,
)
from shipit.errors import UsageError
from shipit.sensitive import Secret, redact

HOST = "registry.example.com"


class MemoryKeyring(KeyringBackend):
    """An in-memory keyring for one test."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, tuple[str, str]] = {}

    def get_password(self, service: str, username: str) -> str | None:
        entry = self.entries.get(service)
        return entry[1] if entry and entry[0] == username else None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[service] = (username, password)

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop(service, None)

    def get_credential(self, service: str, username: str | None) -> SimpleCredential | None:
        entry = self.entries.get(service)
        return SimpleCredential(*entry) if entry else None


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_nothing_configured_means_no_credentials():
    # the test isolation selects keyring's "fail" backend: a keyring error is not fatal
    assert lookup_credentials(HOST) is None


def test_generic_variables(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SHIPIT_REGISTRY_USERNAME", "ci")
    monkeypatch.setenv("SHIPIT_REGISTRY_PASSWORD", "generic-pass-1")
    found = lookup_credentials(HOST)
    assert found is not None
    assert (found.username, found.password.reveal(), found.source) == (
        "ci",
        "generic-pass-1",
        "SHIPIT_REGISTRY_PASSWORD",
    )
    assert "generic-pass-1" not in repr(found)
    assert redact("leaked generic-pass-1") == "leaked [REDACTED]"


def test_per_host_variables_win_and_host_scoping(monkeypatch: pytest.MonkeyPatch):
    user_var, password_var = host_variables("127.0.0.1:5000")
    assert (user_var, password_var) == (
        "SHIPIT_REGISTRY_127_0_0_1_5000_USERNAME",
        "SHIPIT_REGISTRY_127_0_0_1_5000_PASSWORD",
    )
    monkeypatch.setenv("SHIPIT_REGISTRY_USERNAME", "generic")
    monkeypatch.setenv("SHIPIT_REGISTRY_PASSWORD", "generic-pass-2")
    monkeypatch.setenv(user_var, "local")
    monkeypatch.setenv(password_var, "local-pass-2")
    assert lookup_credentials("127.0.0.1:5000").username == "local"  # type: ignore[union-attr]
    assert lookup_credentials(HOST).username == "generic"  # type: ignore[union-attr]
    monkeypatch.setenv("SHIPIT_REGISTRY_HOST", "ghcr.io")
    assert lookup_credentials(HOST) is None  # the generic pair is only for ghcr.io now
    assert lookup_credentials("ghcr.io").username == "generic"  # type: ignore[union-attr]


def test_half_a_pair_is_a_usage_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SHIPIT_REGISTRY_USERNAME", "ci")
    with pytest.raises(UsageError, match="SHIPIT_REGISTRY_PASSWORD is not set"):
        lookup_credentials(HOST)


def test_fly_registry_uses_the_fly_token(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLY_API_TOKEN", "fake-fly-api-token")
    found = lookup_credentials("registry.fly.io")
    assert found is not None
    assert (found.username, found.password.reveal(), found.source) == (
        "x",
        "fake-fly-api-token",
        "FLY_API_TOKEN",
    )
    assert lookup_credentials(HOST) is None  # never sent to another registry


def test_keyring_entry(memory_keyring: MemoryKeyring):
    memory_keyring.set_password(f"shipit:registry:{HOST}", "robot", "keyring-pass-3")
    found = lookup_credentials(HOST)
    assert found is not None
    assert (found.username, found.password.reveal(), found.source) == (
        "robot",
        "keyring-pass-3",
        "keyring",
    )


def test_docker_config_auths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "docker"
    config.mkdir()
    encoded = base64.b64encode(b"dockeruser:docker-pass-4").decode()
    (config / "config.json").write_text(json.dumps({"auths": {HOST: {"auth": encoded}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    found = lookup_credentials(HOST)
    assert found is not None
    assert (found.username, found.password.reveal()) == ("dockeruser", "docker-pass-4")


def test_challenges():
    values = [
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:me/app:pull"',
        'Basic realm="a \\"quoted\\" realm"',
    ]
    bearer, basic = parse_challenges(values)
    assert bearer.scheme == "bearer"
    assert bearer.params == {
        "realm": "https://auth.example.com/token",
        "service": "registry.example.com",
        "scope": "repository:me/app:pull",
    }
    assert basic.params == {"realm": 'a "quoted" realm'}
    assert pick_challenge([basic, bearer]) is bearer
    assert pick_challenge(parse_challenges(["Negotiate abc"])) is None
    assert scope_for("me/app") == "repository:me/app:pull"
    assert scope_for("me/app", push=True) == "repository:me/app:pull,push"


def test_auth_config_is_private_and_removed():
    from shipit.artifacts.auth import RegistryCredentials

    credentials = RegistryCredentials("robot", Secret("file-pass-5"), "test")
    with auth_config(HOST, credentials) as folder:
        assert folder is not None
        path = folder / "config.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        auth = json.loads(path.read_text())["auths"][HOST]["auth"]
        assert base64.b64decode(auth).decode() == "robot:file-pass-5"
    assert not folder.exists()
    with auth_config(HOST, None) as nothing:
        assert nothing is None


def test_docker_hub_auth_config_has_every_key_docker_reads():
    from shipit.artifacts.auth import RegistryCredentials

    credentials = RegistryCredentials("me", Secret("hub-pass-6"), "test")
    with auth_config("docker.io", credentials) as folder:
        assert folder is not None
        auths = json.loads((folder / "config.json").read_text())["auths"]
    assert set(auths) == {"docker.io", "index.docker.io", "https://index.docker.io/v1/"}
