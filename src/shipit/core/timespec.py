"""Parsing ``--since`` values: a duration (``90s``, ``10m``, ``2h``, ``1d``) or an ISO time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from shipit.errors import UsageError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, *, now: datetime | None = None) -> datetime:
    """The moment ``value`` names, in UTC."""
    now = now or datetime.now(UTC)
    match = _DURATION.match(value.strip())
    if match:
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--since {value!r} is neither a duration nor an ISO time",
            hint="use e.g. --since 10m, --since 2h or --since 2026-01-31T12:00",
        ) from None
    return moment if moment.tzinfo else moment.astimezone(UTC)
