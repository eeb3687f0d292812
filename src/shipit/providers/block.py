"""The provider block of an environment, checked to be the one an adapter needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from shipit.errors import ConfigError

if TYPE_CHECKING:
    from shipit.config.overlay import Environment

B = TypeVar("B")


def require_block(environment: Environment, kind: type[B], provider: str, example: str) -> B:
    """The environment's ``[provider]`` block; a ConfigError naming the table to add if absent.

    ``example`` is the required setting shown in the hint, e.g. ``project = "..."``.
    """
    block = environment.block
    if not isinstance(block, kind):
        raise ConfigError(
            f"environment {environment.name!r} has no [{provider}] block",
            key=f"environments.{environment.name}.{provider}",
            hint=f"add [environments.NAME.{provider}] with {example}",
        )
    return block
