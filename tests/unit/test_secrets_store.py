"""The keyring store, secret resolution (keyring and CI), fingerprints and provider tokens."""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from tests.fakes.memory_keyring import MemoryKeyring

from shipit.config.loader import parse_config
from shipit.config.overlay import Environment, resolve_environment
from shipit.credentials import lookup_token, store_token
from shipit.errors import AuthError, SecretsMissingError, UsageError
from shipit.fingerprint import KEY_VARIABLE, fingerprint, fingerprint_key, forget_keys
from shipit.secrets import lookup_secrets, resolve_secrets
from shipit.secretstore import (
    FINGERPRINT_USER,
    KeyringUnavailableError,
    SecretStore,
    check_backend,
    service_name,
    token_service,
)
from shipit.sensitive import Secret, redact

CONFIG = """\
[project]
name = "demo"

[services.web]
start = "python3 app.py"
env = { LOG_LEVEL = "info" }
secrets = ["SECRET_KEY", "API_TOKEN"]

[services.worker]
start = "python3 worker.py"
secrets = ["SECRET_KEY"]

[environments.local]
env = { SECRET_KEY = "dev-plain-value", API_TOKEN = "dev-token-value" }

[environments.preview]
env = { LOG_LEVEL = "debug" }

[environments.staging]
"""


@pytest.fixture(autouse=True)
def no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    forget_keys()


def env(tmp_path: Path, name: str) -> Environment:
    loaded = parse_config(CONFIG, tmp_path / "shipit.toml")
    return resolve_environment(loaded, name)


# --- the store ----------------------------------------------------------------------------


def test_service_name_scheme() -> None:
    assert service_name("demo", "preview") == "shipit:demo:preview"
    assert service_name("demo") == "shipit:demo"
    assert token_service("railway") == "shipit:token:railway"


def test_environment_value_wins_over_project_value(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore("demo")
    store.set("SECRET_KEY", Secret("project-wide-value"), None)
    assert store.lookup("SECRET_KEY", "preview").value.reveal() == "project-wide-value"  # type: ignore[union-attr]
    assert store.lookup("SECRET_KEY", "preview").scope == "project"  # type: ignore[union-attr]
    store.set("SECRET_KEY", Secret("preview-only-value"), "preview")
    found = store.lookup("SECRET_KEY", "preview")
    assert found is not None
    assert (found.value.reveal(), found.scope, found.service) == (
        "preview-only-value",
        "env",
        "shipit:demo:preview",
    )
    assert memory_keyring.entries[("shipit:demo:preview", "SECRET_KEY")] == "preview-only-value"
    assert store.names("preview") == ["SECRET_KEY"]
    assert store.delete("SECRET_KEY", "preview") is True
    assert store.delete("SECRET_KEY", "preview") is False
    assert store.names("preview") == []
    assert store.lookup("SECRET_KEY", "preview").scope == "project"  # type: ignore[union-attr]


def test_reserved_and_invalid_names_are_refused(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore("demo")
    with pytest.raises(UsageError, match="reserved"):
        store.set(FINGERPRINT_USER, Secret("x-value"), None)
    with pytest.raises(UsageError, match="not a valid"):
        store.set("1BAD", Secret("x-value"), None)


def test_fail_backend_names_the_fix() -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    with pytest.raises(KeyringUnavailableError) as caught:
        check_backend(FailKeyring())
    assert "no keyring backend" in str(caught.value)
    assert "gnome-keyring" in (caught.value.hint or "")
    assert "CI=true" in (caught.value.hint or "")
    assert caught.value.exit_code == 2


def test_null_backend_is_refused() -> None:
    from keyring.backends.null import Keyring as NullKeyring

    with pytest.raises(KeyringUnavailableError, match="disabled"):
        check_backend(NullKeyring())


def plaintext_backend(monkeypatch: pytest.MonkeyPatch) -> KeyringBackend:
    """A backend that looks like keyrings.alt's PlaintextKeyring."""
    module = types.ModuleType("keyrings.alt.file")

    class PlaintextKeyring(MemoryKeyring):
        pass

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    module.PlaintextKeyring = PlaintextKeyring  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyrings.alt.file", module)
    return PlaintextKeyring()


def test_plaintext_backend_is_refused_and_nothing_is_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = plaintext_backend(monkeypatch)
    store = SecretStore("demo", backend)
    with pytest.raises(KeyringUnavailableError, match="plaintext") as caught:
        store.set("SECRET_KEY", Secret("never-in-plaintext"), None)
    assert "keyrings.alt" in (caught.value.hint or "")
    assert backend.entries == {}  # type: ignore[attr-defined]


def test_a_chain_with_a_plaintext_member_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from keyring.backends.chainer import ChainerBackend

    plain = plaintext_backend(monkeypatch)
    monkeypatch.setattr(ChainerBackend, "backends", [MemoryKeyring(), plain])
    with pytest.raises(KeyringUnavailableError, match="plaintext"):
        check_backend(ChainerBackend())


def test_locked_keyring_says_how_to_unlock(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.locked = True
    with pytest.raises(KeyringUnavailableError, match="locked") as caught:
        SecretStore("demo").get("SECRET_KEY", "preview")
    assert "unlock" in (caught.value.hint or "")
    assert caught.value.reason == "locked"


# --- resolution -----------------------------------------------------------------------------


def test_no_secret_names_never_touch_the_keyring(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.locked = True  # any call would fail
    local = env(tmp_path, "local")
    assert resolve_secrets(local) == {}
    assert memory_keyring.calls == 0
    assert dict(local.services["web"].env)["SECRET_KEY"] == "dev-plain-value"


def test_no_secret_names_work_without_any_keyring(tmp_path: Path) -> None:
    assert resolve_secrets(env(tmp_path, "local"), source="keyring") == {}


def test_keyring_values_are_wrapped(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    store = SecretStore("demo")
    store.set("SECRET_KEY", Secret("preview-secret-value"), "preview")
    store.set("API_TOKEN", Secret("project-token-value"), None)
    values = resolve_secrets(env(tmp_path, "preview"))
    assert set(values) == {"SECRET_KEY", "API_TOKEN"}
    assert all(isinstance(v, Secret) for v in values.values())
    assert values["API_TOKEN"].reveal() == "project-token-value"
    assert "preview-secret-value" not in repr(values)
    assert redact("x preview-secret-value y") == "x [REDACTED] y"


def test_every_missing_secret_is_reported_at_once(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    with pytest.raises(SecretsMissingError) as caught:
        resolve_secrets(env(tmp_path, "preview"))
    error = caught.value
    assert error.names == ["SECRET_KEY", "API_TOKEN"]
    assert error.exit_code == 2
    assert "shipit env set SECRET_KEY -e preview" in (error.hint or "")
    assert "shipit env set API_TOKEN -e preview" in (error.hint or "")


def test_only_the_selected_services_secrets(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    SecretStore("demo").set("SECRET_KEY", Secret("worker-needs-this"), "preview")
    values = resolve_secrets(env(tmp_path, "preview"), services=["worker"])
    assert list(values) == ["SECRET_KEY"]


def test_ci_reads_environment_variables_not_the_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.locked = True
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("SECRET_KEY", "from-ci-variable")
    with pytest.raises(SecretsMissingError) as caught:
        resolve_secrets(env(tmp_path, "preview"))
    assert caught.value.names == ["API_TOKEN"]
    assert "export API_TOKEN" in (caught.value.hint or "")
    monkeypatch.setenv("API_TOKEN", "token-from-ci")
    values = resolve_secrets(env(tmp_path, "preview"))
    assert values["SECRET_KEY"].reveal() == "from-ci-variable"
    assert memory_keyring.calls == 0


def test_explicit_env_source_outside_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "explicit-env-source")
    monkeypatch.setenv("API_TOKEN", "explicit-env-token")
    found = lookup_secrets(env(tmp_path, "preview"), source="env")
    assert found["SECRET_KEY"].source == "env-var"
    assert found["SECRET_KEY"].where == "$SECRET_KEY"


def test_keyring_source_without_a_keyring_names_the_ci_alternative(tmp_path: Path) -> None:
    with pytest.raises(KeyringUnavailableError) as caught:
        resolve_secrets(env(tmp_path, "preview"))
    assert "'preview' needs secrets" in str(caught.value)
    assert "CI=true SECRET_KEY=... API_TOKEN=..." in (caught.value.hint or "")


def test_a_bad_source_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--secrets"):
        resolve_secrets(env(tmp_path, "preview"), source="vault")  # type: ignore[arg-type]


# --- fingerprints ---------------------------------------------------------------------------


def test_fingerprint_is_a_keyed_hmac(memory_keyring: MemoryKeyring) -> None:
    first = fingerprint("SECRET_KEY", Secret("same-value-here"), project="demo")
    assert first == fingerprint("SECRET_KEY", Secret("same-value-here"), project="demo")
    assert len(first) == 12
    assert int(first, 16) >= 0
    assert first != fingerprint("SECRET_KEY", Secret("other-value-here"), project="demo")
    assert first != fingerprint("OTHER_NAME", Secret("same-value-here"), project="demo")
    plain = hashlib.sha256(b"same-value-here").hexdigest()
    assert first not in plain
    stored = memory_keyring.entries[("shipit:demo", FINGERPRINT_USER)]
    assert len(stored) == 64
    forget_keys()  # a new process: the same key comes from the keyring
    assert fingerprint("SECRET_KEY", Secret("same-value-here"), project="demo") == first
    assert fingerprint_key("demo").origin == "keyring"


def test_fingerprint_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "shared-ci-fingerprint-key")
    key = fingerprint_key("demo")
    assert key.origin == "env-var"
    assert key.warning is None
    assert memory_keyring.calls == 0
    forget_keys()
    monkeypatch.setenv(KEY_VARIABLE, "another-fingerprint-key")
    assert fingerprint_key("demo").fingerprint("A", "v") != key.fingerprint("A", "v")


def test_ci_without_a_key_uses_a_run_key_and_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    key = fingerprint_key("demo")
    assert key.origin == "ephemeral"
    assert key.warning is not None
    assert KEY_VARIABLE in key.warning


def test_no_keyring_outside_ci_falls_back_to_a_run_key() -> None:
    assert fingerprint_key("demo").origin == "ephemeral"


# --- provider tokens ------------------------------------------------------------------------


def test_token_lookup_order(monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring) -> None:
    store_token("render", Secret("stored-render-key"))
    token = lookup_token("render")
    assert token is not None
    assert (token.value.reveal(), token.source, token.kind) == (
        "stored-render-key",
        "keyring",
        "bearer",
    )
    monkeypatch.setenv("RENDER_API_KEY", "env-render-key")
    token = lookup_token("render")
    assert token is not None
    assert token.source == "RENDER_API_KEY"
    token = lookup_token("render", flag="flag-render-key")
    assert token is not None
    assert token.source == "flag"


def test_railway_project_token_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAILWAY_TOKEN", "project-token-abc")
    token = lookup_token("railway")
    assert token is not None
    assert token.kind == "project"
    monkeypatch.setenv("RAILWAY_API_TOKEN", "account-token-abc")
    with pytest.raises(UsageError, match="both"):
        lookup_token("railway")


def test_missing_token_names_variables_and_login(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(AuthError) as caught:
        lookup_token("fly", prompt=False)
    assert caught.value.exit_code == 3
    assert "FLY_API_TOKEN" in (caught.value.hint or "")
    assert "shipit login fly" in (caught.value.hint or "")
    assert lookup_token("fly", required=False, prompt=False) is None
    assert lookup_token("local") is None


def test_locked_keyring_is_named_in_the_token_error(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.locked = True
    with pytest.raises(AuthError, match="locked"):
        lookup_token("fly", prompt=False)


def test_prompt_only_when_interactive(
    monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    import getpass

    monkeypatch.setattr(getpass, "getpass", lambda *a, **k: "typed-fly-token\n")
    token = lookup_token("fly", prompt=True)
    assert token is not None
    assert (token.value.reveal(), token.source) == ("typed-fly-token", "prompt")
    assert memory_keyring.entries == {}  # a prompted token is not stored
    monkeypatch.setenv("CI", "true")
    with pytest.raises(AuthError):
        lookup_token("fly")  # CI never prompts
