"""Opening a provider for an environment: its state folder and its credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipit.credentials import TOKEN_VARIABLES, Token, lookup_token
from shipit.providers.base import ProviderContext
from shipit.providers.registry import provider_class

if TYPE_CHECKING:
    from pathlib import Path

    from shipit.config.overlay import Environment
    from shipit.providers.base import Provider

STATE_DIR_NAME = ".shipit"


def state_dir(env: Environment) -> Path:
    """The project's local state folder (``.shipit/`` beside shipit.toml)."""
    return env.root / STATE_DIR_NAME


def open_provider(
    env: Environment, *, token: Token | None = None, verbose: bool = False
) -> Provider:
    """An adapter for ``env``, given the token the provider needs (looked up when not passed)."""
    cls = provider_class(env.provider)
    if token is None and env.provider in TOKEN_VARIABLES:
        token = lookup_token(env.provider)
    context = ProviderContext(
        environment=env,
        state_dir=state_dir(env),
        token=token.value if token else None,
        verbose=verbose,
        extra={"token_kind": token.kind, "token_source": token.source} if token else {},
    )
    return cls(context)  # type: ignore[call-arg]
