"""Render build and runtime logs: ``GET /logs`` reads, and follow by polling.

``GET /logs`` needs the workspace (``ownerId``) and the resource (the service id); ``type`` picks
``build`` or ``app`` lines; ``startTime``/``endTime`` bound a window (Render's default is the last
hour, so shipit asks for :data:`DEFAULT_LOOKBACK` unless told ``since``). Pages are time windows:
while ``hasMore``, the same query is repeated with ``nextStartTime``/``nextEndTime``. A tail reads
``direction=backward`` (newest first) and returns its lines oldest first. Following polls
``direction=forward`` from the newest line seen and drops lines already given (by log id); the
WebSocket ``/logs/subscribe`` is not used, so no extra dependency is needed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from shipit.providers.render import operations as ops
from shipit.providers.render.client import RenderClient
from shipit.providers.timestamps import parse_time, rfc3339

DEFAULT_LIMIT: Final = 100
PAGE_LIMIT: Final = 100  # the API's maximum
MAX_PAGES: Final = 50
FOLLOW_INTERVAL: Final = 2.0
DEFAULT_LOOKBACK: Final = timedelta(days=7)
SEEN_IDS: Final = 5000


@dataclass(frozen=True)
class LogQuery:
    """Which lines: one resource of one workspace, some log types, a time window."""

    owner_id: str
    resource: str
    types: Sequence[str]
    start: datetime | None = None
    end: datetime | None = None

    def params(self, *, direction: str, limit: int) -> dict[str, Any]:
        """The query parameters of one ``GET /logs`` (arrays repeat their key)."""
        params: dict[str, Any] = {
            "ownerId": self.owner_id,
            "resource": [self.resource],
            "direction": direction,
            "limit": max(1, min(limit, PAGE_LIMIT)),
        }
        if self.types:
            params["type"] = list(self.types)
        if self.start is not None:
            params["startTime"] = rfc3339(self.start)
        if self.end is not None:
            params["endTime"] = rfc3339(self.end)
        return params


def read(api: RenderClient, query: LogQuery, *, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """The newest ``limit`` lines of the window, oldest first."""
    found: list[dict[str, Any]] = []
    params = query.params(direction="backward", limit=limit)
    for _ in range(MAX_PAGES):
        page = api.call(ops.LIST_LOGS, params=params) or {}
        found.extend(e for e in page.get("logs") or [] if isinstance(e, dict))
        if len(found) >= limit or not _more(page):
            break
        params = {**params, "startTime": page["nextStartTime"], "endTime": page["nextEndTime"]}
    found.sort(key=_order)
    return found[-limit:] if limit else found


def forward(api: RenderClient, query: LogQuery) -> list[dict[str, Any]]:
    """Every line of the window, oldest first (paged forward)."""
    found: list[dict[str, Any]] = []
    params = query.params(direction="forward", limit=PAGE_LIMIT)
    for _ in range(MAX_PAGES):
        page = api.call(ops.LIST_LOGS, params=params) or {}
        found.extend(e for e in page.get("logs") or [] if isinstance(e, dict))
        if not _more(page):
            break
        params = {**params, "startTime": page["nextStartTime"], "endTime": page["nextEndTime"]}
    found.sort(key=_order)
    return found


def follow(
    api: RenderClient,
    query: LogQuery,
    *,
    sleep: Callable[[float], None],
    interval: float = FOLLOW_INTERVAL,
    seen: Sequence[dict[str, Any]] = (),
    now: Callable[[], datetime],
    finished: Callable[[], bool] | None = None,
) -> Iterator[dict[str, Any]]:
    """New lines as they appear, until ``finished()`` says no more will come (or forever).

    ``seen`` are lines already given to the caller (they are not repeated).
    """
    ids: deque[str] = deque(maxlen=SEEN_IDS)
    known: set[str] = set()
    start = query.start or now()
    for entry in seen:
        _remember(entry, ids, known)
        start = max(start, parse_time(entry.get("timestamp")) or start)
    ending = False
    while True:
        window = LogQuery(query.owner_id, query.resource, query.types, start, None)
        for entry in forward(api, window):
            identifier = str(entry.get("id") or "")
            if identifier and identifier in known:
                continue
            _remember(entry, ids, known)
            start = max(start, parse_time(entry.get("timestamp")) or start)
            yield entry
        if ending:
            return
        if finished is not None and finished():
            ending = True  # one more read for the lines written while it finished
            continue
        sleep(interval)


def _remember(entry: dict[str, Any], ids: deque[str], known: set[str]) -> None:
    identifier = str(entry.get("id") or "")
    if not identifier:
        return
    if len(ids) == ids.maxlen:
        known.discard(ids[0])
    ids.append(identifier)
    known.add(identifier)


def _more(page: Any) -> bool:
    return bool(
        isinstance(page, dict)
        and page.get("hasMore")
        and page.get("nextStartTime")
        and page.get("nextEndTime")
    )


def _order(entry: dict[str, Any]) -> tuple[float, str]:
    moment = parse_time(entry.get("timestamp"))
    return (moment.timestamp() if moment else 0.0, str(entry.get("id") or ""))
