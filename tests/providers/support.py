"""Instant time for the hosted adapters' tests: sleeps are recorded, never waited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shipit.http import RetryPolicy


@dataclass
class Sleeps:
    """Every sleep an adapter asked for, in seconds, in order."""

    calls: list[float]

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def instant_time(sleeps: Sleeps) -> tuple[Callable[[float], None], RetryPolicy]:
    """A sleep that records into ``sleeps`` and moves a fresh fake clock; a RetryPolicy on it."""
    clock = [0.0]

    def sleep(seconds: float) -> None:
        sleeps(seconds)
        clock[0] += seconds

    return sleep, RetryPolicy(sleep=sleep, clock=lambda: clock[0])
