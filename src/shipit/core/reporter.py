"""How the core reports progress without importing any UI: a no-op-by-default Reporter."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """Receives progress from the engine; the CLI passes one that prints."""

    def step(self, service: str, step: str, state: str, detail: str = "") -> None:
        """A step (build, set_env, link_db, deploy, health) of a service: start/done/fail/skip."""

    def warn(self, message: str) -> None:
        """Something the user should know that does not fail the command."""

    def detail(self, service: str, line: str) -> None:
        """A line of builder or provider output (shown with --verbose)."""


class NullReporter:
    """Reports nothing."""

    def step(self, service: str, step: str, state: str, detail: str = "") -> None:
        """Ignore a step."""

    def warn(self, message: str) -> None:
        """Ignore a warning."""

    def detail(self, service: str, line: str) -> None:
        """Ignore output."""
