"""A keyring backend that keeps entries in a dict, for unit tests (``keyring.set_keyring``)."""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Entries in memory; ``locked = True`` makes every call fail as a locked keyring does."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.locked = False
        self.calls = 0

    def _touch(self) -> None:
        self.calls += 1
        if self.locked:
            raise KeyringLocked("Failed to unlock the collection!")

    def get_password(self, service: str, username: str) -> str | None:
        self._touch()
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._touch()
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._touch()
        if (service, username) not in self.entries:
            raise PasswordDeleteError("not found")
        del self.entries[(service, username)]
