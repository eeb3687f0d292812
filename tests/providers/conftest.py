"""Fixtures every hosted adapter's tests share."""

from __future__ import annotations

import pytest
from tests.providers.support import Sleeps


@pytest.fixture
def sleeps() -> Sleeps:
    """The sleeps the adapter under test asked for (none of them waits)."""
    return Sleeps([])
