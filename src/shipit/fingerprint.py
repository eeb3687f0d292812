"""Secret fingerprints: a short HMAC of a value, comparable without showing or hashing it plainly.

``fingerprint(name, value)`` is HMAC-SHA256 over ``name NUL value``, keyed by a random 32-byte
key of the project, shortened to 12 hex digits. A plain hash of a short secret can be reversed by
guessing; an HMAC cannot without the key, so fingerprints may appear in plans, diffs and logs.

The key comes from, in order:

1. ``SHIPIT_FINGERPRINT_KEY`` (any text; set the same value in CI jobs whose fingerprints must
   compare with each other);
2. the keyring entry ``shipit:<project>`` / ``__fingerprint_key__``, created on first use (not
   in CI mode, which never reads the keyring);
3. a random key for this run only: fingerprints then compare only within one run, and
   :attr:`FingerprintKey.warning` says so for the caller to show.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as random
import threading
from dataclasses import dataclass
from typing import Literal

from shipit.secretstore import (
    FINGERPRINT_USER,
    KeyringUnavailableError,
    get_or_create,
    service_name,
)
from shipit.sensitive import Secret, reveal

KEY_VARIABLE = "SHIPIT_FINGERPRINT_KEY"
LENGTH = 12
KeyOrigin = Literal["env-var", "keyring", "ephemeral"]

_lock = threading.Lock()
_keys: dict[str, FingerprintKey] = {}
_last: list[FingerprintKey] = []


@dataclass(frozen=True)
class FingerprintKey:
    """The HMAC key of one project and where it came from."""

    project: str
    key: Secret
    origin: KeyOrigin

    @property
    def warning(self) -> str | None:
        """What to tell the user when fingerprints will not match those of other runs."""
        if self.origin != "ephemeral":
            return None
        return (
            "secret fingerprints use a key for this run only and do not compare with other runs; "
            f"set {KEY_VARIABLE} (or use a keyring) for stable fingerprints"
        )

    def fingerprint(self, name: str, value: Secret | str) -> str:
        """The short fingerprint of ``value`` as the value of ``name``."""
        message = name.encode() + b"\0" + reveal(value).encode()
        digest = hmac.new(self.key.reveal().encode(), message, hashlib.sha256).hexdigest()
        return digest[:LENGTH]


def fingerprint_key(project: str, *, use_keyring: bool | None = None) -> FingerprintKey:
    """The project's key (cached for the process); ``use_keyring`` defaults to "not in CI"."""
    with _lock:
        cached = _keys.get(project)
    if cached is not None:
        _remember(cached)
        return cached
    if use_keyring is None:
        from shipit.ci import in_ci

        use_keyring = not in_ci()
    key = _load(project, use_keyring)
    with _lock:
        key = _keys.setdefault(project, key)
    _remember(key)
    return key


def _load(project: str, use_keyring: bool) -> FingerprintKey:
    from_env = os.environ.get(KEY_VARIABLE)
    if from_env:
        return FingerprintKey(project, Secret(from_env), "env-var")
    if use_keyring:
        try:
            stored = get_or_create(
                service_name(project), FINGERPRINT_USER, lambda: random.token_hex(32)
            )
        except KeyringUnavailableError:
            pass
        else:
            return FingerprintKey(project, stored, "keyring")
    return FingerprintKey(project, Secret(random.token_hex(32)), "ephemeral")


def _remember(key: FingerprintKey) -> None:
    with _lock:
        _last[:] = [key]


def fingerprint(
    name: str,
    value: Secret | str,
    *,
    project: str | None = None,
    key: FingerprintKey | None = None,
) -> str:
    """The short HMAC fingerprint of ``value`` as secret ``name``.

    Pass ``project`` (or a ``key`` from :func:`fingerprint_key`); without either, the key last
    loaded in this process is used, else a key for this run only.
    """
    if key is None:
        if project is not None:
            key = fingerprint_key(project)
        else:
            with _lock:
                key = _last[0] if _last else None
            if key is None:
                key = fingerprint_key("", use_keyring=False)
    return key.fingerprint(name, value)


def forget_keys() -> None:
    """Drop cached keys (tests, and after ``SHIPIT_FINGERPRINT_KEY`` changes)."""
    with _lock:
        _keys.clear()
        _last.clear()
