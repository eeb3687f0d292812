"""The local provider's log files: one timestamped line per output line, read back and tailed.

A line reads ``<ISO-8601 UTC timestamp> <stream> <message>``, for example
``2025-01-31T12:00:00.123456+00:00 stdout listening on 8100``. The runner writes runtime logs
(streams ``stdout``, ``stderr`` and ``deploy``); the bundle writes build logs (stream ``build``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, NamedTuple

STREAMS = frozenset({"stdout", "stderr", "deploy", "build"})
POLL_SECONDS = 0.2
SWITCH_EVERY_POLLS = 5


class Entry(NamedTuple):
    """One parsed log line."""

    timestamp: datetime
    stream: str
    message: str


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def format_line(stream: str, message: str, when: datetime | None = None) -> str:
    """A log line with its newline; ``message`` must not contain one."""
    return f"{(when or now()).isoformat()} {stream} {message}\n"


def parse_line(text: str, *, default: datetime | None = None) -> Entry:
    """An Entry from one line; a line in no known format becomes ``stdout`` at ``default``."""
    text = text.rstrip("\n")
    stamp, _, rest = text.partition(" ")
    stream, _, message = rest.partition(" ")
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return Entry(default or now(), "stdout", text)
    if stream not in STREAMS:
        return Entry(when, "stdout", rest)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return Entry(when, stream, message)


class LineWriter:
    """Appends timestamped lines to a file from several threads."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        self._lock = threading.Lock()

    def write(self, stream: str, message: str) -> None:
        """Write one line per line of ``message`` and flush, so readers see it at once."""
        with self._lock:
            for part in message.splitlines() or [""]:
                self._handle.write(format_line(stream, part))
            self._handle.flush()


def _aware(since: datetime | None) -> datetime | None:
    if since is not None and since.tzinfo is None:
        return since.replace(tzinfo=UTC)
    return since


def read(path: Path, *, lines: int | None = None, since: datetime | None = None) -> list[Entry]:
    """The entries of a finished read of ``path``: those after ``since``, the last ``lines``."""
    entries, _ = _read_from(path, 0, lines=lines, since=_aware(since))
    return entries


def _read_from(
    path: Path, offset: int, *, lines: int | None, since: datetime | None
) -> tuple[list[Entry], int]:
    """Complete lines from ``offset``; returns them and the offset after the last one."""
    kept: deque[Entry] = deque(maxlen=lines if lines is not None and lines >= 0 else None)
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break
                offset += len(raw)
                entry = parse_line(raw.decode("utf-8", errors="replace"))
                if since is None or entry.timestamp >= since:
                    kept.append(entry)
    except FileNotFoundError:
        return [], offset
    return list(kept), offset


def tail(
    path: Path,
    *,
    lines: int | None = None,
    since: datetime | None = None,
    follow: bool = False,
    switch: Callable[[], Path | None] | None = None,
) -> Iterator[tuple[Path, Entry]]:
    """Entries of ``path`` (with the file each came from); with ``follow``, until interrupted.

    ``switch`` is asked about once a second while following; when it returns another file (a new
    release went live), the rest of the current file is read and tailing moves to the new one.
    """
    since = _aware(since)
    entries, offset = _read_from(path, 0, lines=lines, since=since)
    yield from ((path, entry) for entry in entries)
    polls = 0
    while follow:
        entries, offset = _read_from(path, offset, lines=None, since=since)
        yield from ((path, entry) for entry in entries)
        if entries:
            continue
        time.sleep(POLL_SECONDS)
        polls += 1
        if switch is not None and polls % SWITCH_EVERY_POLLS == 0:
            moved = switch()
            if moved is not None and moved != path:
                rest, _ = _read_from(path, offset, lines=None, since=since)
                yield from ((path, entry) for entry in rest)
                path, offset = moved, 0
