"""Parsing --since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shipit.core.timespec import parse_since
from shipit.errors import UsageError

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_durations_count_back_from_now(text: str, ago: timedelta) -> None:
    assert parse_since(text, now=NOW) == NOW - ago


def test_an_iso_time_with_a_zone_is_kept() -> None:
    assert parse_since("2026-11-27T10:00:00+01:00") == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_an_iso_time_without_a_zone_is_local_time() -> None:
    moment = parse_since("2026-11-27T10:00:00")
    assert moment.tzinfo is not None
    assert moment == datetime(2026, 11, 27, 10, 0).astimezone(UTC)


@pytest.mark.parametrize("text", ["yesterday", "10", "5 minutes", "-3m", ""])
def test_anything_else_is_a_usage_error_with_examples(text: str) -> None:
    with pytest.raises(UsageError, match="--since") as caught:
        parse_since(text)
    assert caught.value.hint and "10m" in caught.value.hint
