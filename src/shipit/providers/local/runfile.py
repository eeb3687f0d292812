"""The run file: what a runner reports about its release's process (pids, start, exit code)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from shipit.providers.local.files import read_json, write_json


@dataclass(frozen=True)
class RunInfo:
    """Written by the runner when the command starts and again when it exits."""

    runner_pid: int
    child_pid: int | None
    started_at: str
    exit_code: int | None = None
    finished_at: str | None = None

    def write(self, path: Path) -> None:
        """Save atomically."""
        write_json(path, asdict(self))

    @classmethod
    def read(cls, path: Path) -> RunInfo | None:
        """The last report, or None when the runner has written none yet."""
        data = read_json(path)
        if not isinstance(data, dict):
            return None
        try:
            return cls(**data)
        except TypeError:
            return None
