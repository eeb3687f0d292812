"""RFC 3339 times as the providers' APIs write them, to and from aware datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(text: Any) -> datetime | None:
    """An RFC 3339 time (any fraction length, ``Z`` or offset) as an aware datetime, or None."""
    if not isinstance(text, str) or not text:
        return None
    trimmed = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        value = datetime.fromisoformat(trimmed.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def rfc3339(moment: datetime) -> str:
    """A datetime as RFC 3339 text in UTC with ``Z`` (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
