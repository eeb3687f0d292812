"""Fly app logs by HTTP polling (``GET /api/v1/apps/<app>/logs``), the one way without WireGuard.

Without a token the endpoint answers the latest 100 lines of the last day; ``next_token`` (Unix
nanoseconds) asks for what came after it, and every answer carries the token to send next.
Following is flyctl's loop (API.md 4.6): poll again at once while lines arrive, else back off from
64 ms doubling to about 4 s; give up after 10 failures in a row; a refused token ends it at once.
Entries are deduplicated by id.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

from shipit.errors import ProviderAPIError
from shipit.providers.fly.client import FlyClient

FIRST_PAUSE: Final = 0.064
MAX_PAUSE: Final = 4.096
MAX_FAILURES: Final = 10
SEEN_LIMIT: Final = 5000


def read(
    api: FlyClient, app: str, *, token: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of entries (oldest first) and the ``next_token`` to ask with next."""
    params = {"next_token": token} if token else {}
    answer = api.logs(app, params) or {}
    entries = [e for e in answer.get("data") or [] if isinstance(e, dict)]
    meta = answer.get("meta") if isinstance(answer.get("meta"), Mapping) else {}
    following = meta.get("next_token") if isinstance(meta, Mapping) else None
    return entries, str(following) if following else None


def entry_key(entry: Mapping[str, Any]) -> str:
    """An entry's identity (its id, else its time and message)."""
    if entry.get("id"):
        return str(entry["id"])
    attributes = entry.get("attributes") or {}
    return f"{attributes.get('timestamp')}|{attributes.get('instance')}|{attributes.get('message')}"


def backlog(
    api: FlyClient, app: str, *, token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The entries to show first: from ``token`` on (paged until the end), else the latest."""
    entries, following = read(api, app, token=token)
    if token:
        while entries and following and following != token:
            token = following
            more, following = read(api, app, token=token)
            if not more:
                break
            entries.extend(more)
    return entries, following or token


def follow(
    api: FlyClient,
    app: str,
    *,
    token: str | None,
    sleep: Callable[[float], None],
    seen: Iterable[str] = (),
    max_pause: float = MAX_PAUSE,
) -> Iterator[dict[str, Any]]:
    """New entries as they arrive, forever (the caller stops iterating)."""
    known: deque[str] = deque(seen, maxlen=SEEN_LIMIT)
    known_set = set(known)
    pause = FIRST_PAUSE
    failures = 0
    while True:
        try:
            entries, following = read(api, app, token=token)
        except ProviderAPIError as error:
            failures += 1
            if error.status in {401, 403, 404} or failures >= MAX_FAILURES:
                raise
            sleep(pause)
            pause = min(pause * 2, max_pause)
            continue
        failures = 0
        token = following or token
        fresh = [e for e in entries if entry_key(e) not in known_set]
        for entry in fresh:
            key = entry_key(entry)
            if len(known) == known.maxlen:
                known_set.discard(known[0])
            known.append(key)
            known_set.add(key)
            yield entry
        if fresh:
            pause = FIRST_PAUSE
            continue
        sleep(pause)
        pause = min(pause * 2, max_pause)
