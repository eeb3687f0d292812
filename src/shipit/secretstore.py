"""Where shipit keeps secret values on this machine: the OS keyring, under one naming scheme.

Keyring entries (service / username):

    shipit:<project>:<env>  / NAME      a secret of one environment
    shipit:<project>        / NAME      a project-wide secret, used by every environment that does
                                        not set NAME itself
    shipit:<project>        / __fingerprint_key__   the key of secret fingerprints
    shipit:<project>[:env]  / __names__ the names stored in that scope (the keyring cannot list)
    shipit:token:<provider> / token     a provider token written by ``shipit login``

Only a real keyring is used: the Secret Service (gnome-keyring, KWallet), the macOS Keychain or
the Windows Credential Locker. The fail and null backends and the plaintext backends of
``keyrings.alt`` are refused with an error that names the fix; shipit never falls back to
writing secrets in plain text. ``keyring`` is imported on first use.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from shipit.errors import UsageError
from shipit.sensitive import Secret

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

Scope = Literal["env", "project"]

INDEX_USER = "__names__"
FINGERPRINT_USER = "__fingerprint_key__"
TOKEN_USER = "token"

FIX_KEYRING = (
    "install and unlock a Secret Service keyring (e.g. `apt install gnome-keyring`, then log in "
    "to a desktop session, or start `gnome-keyring-daemon --unlock` inside `dbus-run-session`); "
    "in CI set CI=true and pass each secret as an environment variable of the same name"
)


class KeyringUnavailableError(UsageError):
    """No usable keyring: none installed, headless, locked, or only a plaintext one (exit 2)."""

    def __init__(self, message: str, *, hint: str | None = None, reason: str = "error") -> None:
        super().__init__(message, hint=hint or FIX_KEYRING)
        self.reason = reason  # "none", "plaintext", "locked" or "error"


def service_name(project: str, env: str | None = None) -> str:
    """The keyring service of a project's scope, or of one of its environments."""
    return f"shipit:{project}:{env}" if env else f"shipit:{project}"


def token_service(provider: str) -> str:
    """The keyring service that holds the token ``shipit login PROVIDER`` stored."""
    return f"shipit:token:{provider}"


def is_reserved(name: str) -> bool:
    """True for the usernames shipit keeps for itself (``__names__``, ``__fingerprint_key__``)."""
    return name.startswith("__") and name.endswith("__")


def _refusal(backend: KeyringBackend) -> str | None:
    """Why ``backend`` must not hold secrets, or None when it may."""
    module = type(backend).__module__
    name = type(backend).__name__
    qualified = f"{module}.{name}"
    if module == "keyring.backends.fail":
        return "no keyring backend is available (no Secret Service on D-Bus, no Keychain)"
    if module == "keyring.backends.null":
        return f"the keyring is disabled ({qualified})"
    if module.startswith("keyrings.alt") and "Encrypted" not in name:
        return f"refusing the plaintext keyring backend {qualified}"
    if "plaintext" in qualified.lower():
        return f"refusing the plaintext keyring backend {qualified}"
    return None


def check_backend(backend: KeyringBackend) -> None:
    """Raise KeyringUnavailableError unless ``backend`` (and all it chains) may hold secrets."""
    from keyring.backends.chainer import ChainerBackend

    members = list(backend.backends) if isinstance(backend, ChainerBackend) else [backend]
    if not members:
        raise KeyringUnavailableError("no keyring backend is available", reason="none")
    for member in members:
        reason = _refusal(member)
        if reason is not None:
            hint = FIX_KEYRING
            if "plaintext" in reason:
                hint = (
                    "uninstall keyrings.alt or set PYTHON_KEYRING_BACKEND to a secure backend; "
                    + FIX_KEYRING
                )
            kind = "plaintext" if "plaintext" in reason else "none"
            raise KeyringUnavailableError(reason, hint=hint, reason=kind)


def usable_backend() -> KeyringBackend:
    """The configured keyring backend, or KeyringUnavailableError with the fix."""
    import keyring

    backend = keyring.get_keyring()
    check_backend(backend)
    return backend


def keyring_available() -> bool:
    """True when a usable keyring backend is configured (nothing is read)."""
    try:
        usable_backend()
    except KeyringUnavailableError:
        return False
    return True


@contextmanager
def _keyring_errors() -> Iterator[None]:
    """Turn the keyring's own errors into KeyringUnavailableError (they carry no values)."""
    from keyring.errors import InitError, KeyringError, KeyringLocked, NoKeyringError

    try:
        yield
    except KeyringLocked:
        raise KeyringUnavailableError(
            "the keyring is locked",
            hint="unlock it (log in to the desktop session, or `gnome-keyring-daemon --unlock`); "
            "in CI set CI=true and pass secrets as environment variables",
            reason="locked",
        ) from None
    except (InitError, NoKeyringError) as exc:
        raise KeyringUnavailableError(f"the keyring cannot be opened: {exc}") from None
    except KeyringError as exc:
        raise KeyringUnavailableError(f"keyring error: {type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class Found:
    """A secret found in the keyring and the scope it was found in."""

    value: Secret
    scope: Scope
    service: str


class SecretStore:
    """The secrets of one project in the keyring: per-environment and project-wide scopes."""

    def __init__(self, project: str, backend: KeyringBackend | None = None) -> None:
        self.project = project
        self._backend = backend
        self._checked = False

    @property
    def backend(self) -> KeyringBackend:
        """The keyring backend, checked on first use (KeyringUnavailableError with the fix)."""
        if self._backend is None:
            self._backend = usable_backend()
        elif not self._checked:
            check_backend(self._backend)
        self._checked = True
        return self._backend

    @property
    def available(self) -> bool:
        """True when the keyring can be used (nothing is read)."""
        try:
            self.backend  # noqa: B018
        except KeyringUnavailableError:
            return False
        return True

    def service(self, env: str | None) -> str:
        """The keyring service of ``env``'s scope (project-wide when None)."""
        return service_name(self.project, env)

    def get(self, name: str, env: str | None) -> Secret | None:
        """The value stored for ``name`` in exactly this scope."""
        return self._read(self.service(env), name)

    def lookup(self, name: str, env: str) -> Found | None:
        """The value ``env`` uses for ``name``: its own, else the project-wide one."""
        for scope, scope_env in (("env", env), ("project", None)):
            value = self.get(name, scope_env)
            if value is not None:
                return Found(value, scope, self.service(scope_env))  # type: ignore[arg-type]
        return None

    def set(self, name: str, value: Secret, env: str | None) -> None:
        """Store ``value`` for ``name`` in the scope of ``env`` (project-wide when None)."""
        check_name(name)
        backend = self.backend
        service = self.service(env)
        with _keyring_errors():
            backend.set_password(service, name, value.reveal())
        self._update_index(env, add=name)

    def delete(self, name: str, env: str | None) -> bool:
        """Remove ``name`` from the scope of ``env``; False when it was not there."""
        from keyring.errors import PasswordDeleteError

        backend = self.backend
        service = self.service(env)
        with _keyring_errors():
            present = backend.get_password(service, name) is not None
            if present:
                try:
                    backend.delete_password(service, name)
                except PasswordDeleteError:
                    present = False
        self._update_index(env, remove=name)
        return present

    def names(self, env: str | None) -> list[str]:
        """Names stored in the scope of ``env`` through shipit, in the order they were added."""
        raw = self._read_raw(self.service(env), INDEX_USER)
        if not raw:
            return []
        try:
            names = json.loads(raw)
        except ValueError:
            return []
        return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

    # internals ----------------------------------------------------------------------------
    def _read(self, service: str, user: str) -> Secret | None:
        raw = self._read_raw(service, user)
        return None if raw is None else Secret(raw)

    def _read_raw(self, service: str, user: str) -> str | None:
        backend = self.backend
        with _keyring_errors():
            value: str | None = backend.get_password(service, user)
        return value

    def _update_index(self, env: str | None, *, add: str = "", remove: str = "") -> None:
        names = self.names(env)
        if add and add not in names:
            names.append(add)
        if remove and remove in names:
            names.remove(remove)
        backend = self.backend
        service = self.service(env)
        with _keyring_errors():
            if names:
                backend.set_password(service, INDEX_USER, json.dumps(names))
            elif backend.get_password(service, INDEX_USER) is not None:
                backend.delete_password(service, INDEX_USER)


def check_name(name: str) -> None:
    """A UsageError unless ``name`` is a valid variable name that shipit does not reserve."""
    from shipit.config.models import ENV_NAME

    if not ENV_NAME.match(name):
        raise UsageError(
            f"{name!r} is not a valid environment variable name",
            hint="use letters, digits and _, not starting with a digit",
        )
    if is_reserved(name):
        raise UsageError(f"{name!r} is reserved by shipit", hint="choose another name")


def read_entry(service: str, user: str) -> Secret | None:
    """One keyring entry outside the project scopes (tokens), wrapped at once."""
    backend = usable_backend()
    with _keyring_errors():
        value: str | None = backend.get_password(service, user)
    return None if value is None else Secret(value)


def write_entry(service: str, user: str, value: Secret) -> None:
    """Store one keyring entry outside the project scopes (tokens)."""
    backend = usable_backend()
    with _keyring_errors():
        backend.set_password(service, user, value.reveal())


def delete_entry(service: str, user: str) -> bool:
    """Remove one keyring entry; False when it was not there."""
    from keyring.errors import PasswordDeleteError

    backend = usable_backend()
    with _keyring_errors():
        if backend.get_password(service, user) is None:
            return False
        try:
            backend.delete_password(service, user)
        except PasswordDeleteError:
            return False
    return True


def get_or_create(service: str, user: str, create: Callable[[], str]) -> Secret:
    """The entry at ``service``/``user``, written with ``create()`` first when missing."""
    existing = read_entry(service, user)
    if existing is not None:
        return existing
    value = Secret(create())
    write_entry(service, user, value)
    return value
