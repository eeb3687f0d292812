"""Railway build and runtime logs: one-shot reads, and follow by polling since the last line.

The log queries have no cursor: they take a ``limit`` (the API answers ``limit + 1`` lines) and a
``startDate``. Following re-asks from the newest timestamp seen and drops lines already given
(same nanosecond timestamp and message). Polling is used rather than the WebSocket subscription:
it needs no extra dependency, and the subscription can close before the first line under load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

from shipit.providers.railway import operations as ops
from shipit.providers.railway.client import RailwayClient
from shipit.providers.railway.parse import time_key

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 5000
FOLLOW_INTERVAL: Final = 2.0


def read(
    api: RailwayClient,
    deployment_id: str,
    *,
    build: bool,
    limit: int = DEFAULT_LIMIT,
    start: str | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` log lines of a deployment, oldest first, from ``start`` on."""
    operation = ops.BUILD_LOGS if build else ops.DEPLOYMENT_LOGS
    field = "buildLogs" if build else "deploymentLogs"
    limit = max(1, min(limit, MAX_LIMIT))
    data = api.call(operation, deploymentId=deployment_id, limit=limit, startDate=start)
    nodes = [n for n in data.get(field) or [] if isinstance(n, dict)]
    nodes.sort(key=lambda n: time_key(str(n.get("timestamp", ""))))
    return nodes[-limit:]


def follow(
    api: RailwayClient,
    deployment_id: str,
    *,
    build: bool,
    start: str | None,
    sleep: Callable[[float], None],
    interval: float = FOLLOW_INTERVAL,
    finished: Callable[[], bool] | None = None,
    seen: list[dict[str, Any]] | None = None,
) -> Iterator[dict[str, Any]]:
    """New log lines as they appear, until ``finished()`` says no more will come (or forever).

    ``seen`` are lines already given to the caller (they are not repeated).
    """
    last_key = -1
    at_last: set[str] = set()
    for node in seen or []:
        last_key, at_last = _advance(node, last_key, at_last)
    cursor = start
    if seen:
        cursor = str(seen[-1].get("timestamp"))
    ending = False
    while True:
        for node in read(api, deployment_id, build=build, limit=MAX_LIMIT, start=cursor):
            key = time_key(str(node.get("timestamp", "")))
            message = str(node.get("message", ""))
            if key < last_key or (key == last_key and message in at_last):
                continue
            last_key, at_last = _advance(node, last_key, at_last)
            cursor = str(node.get("timestamp"))
            yield node
        if ending:
            return
        if finished is not None and finished():
            ending = True  # one more read for the lines written while it finished
            continue
        sleep(interval)


def _advance(node: dict[str, Any], last_key: int, at_last: set[str]) -> tuple[int, set[str]]:
    key = time_key(str(node.get("timestamp", "")))
    message = str(node.get("message", ""))
    if key > last_key:
        return key, {message}
    at_last.add(message)
    return last_key, at_last
