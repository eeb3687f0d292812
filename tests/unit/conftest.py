"""Fixtures the unit tests share."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from tests.fakes.memory_keyring import MemoryKeyring

from shipit.fingerprint import forget_keys


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An empty in-memory keyring as keyring's backend; fingerprint keys forgotten around it."""
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    forget_keys()
    yield backend
    keyring.set_keyring(previous)
    forget_keys()
