"""Registers every command group on the app; each module holds one group of commands."""

from __future__ import annotations

import importlib

import typer

MODULES = (
    "shipit.cli.init",
    "shipit.cli.deploy",
    "shipit.cli.plan",
    "shipit.cli.runtime",
    "shipit.cli.env",
    "shipit.cli.auth",
    "shipit.cli.build",
    "shipit.cli.doctor",
)

_registered = False


def register(app: typer.Typer) -> None:
    """Add the commands of every module in MODULES that exists to ``app`` (once)."""
    global _registered
    if _registered:
        return
    _registered = True
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(app)
