"""Where secret values come from: the OS keyring, or the process environment in CI.

(Minimal first version: values come from the process environment. The keyring store replaces
this module's internals; the public function below keeps its signature.)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Literal

from shipit.config.overlay import Environment
from shipit.errors import SecretsMissingError
from shipit.sensitive import Secret

SecretSource = Literal["auto", "keyring", "env"]


def secret_names(env: Environment, services: Iterable[str] | None = None) -> list[str]:
    """Every secret name the environment's services need, in first-seen order."""
    wanted = set(services) if services is not None else None
    names: list[str] = []
    for spec in env.services.values():
        if wanted is not None and spec.name not in wanted:
            continue
        for name in spec.secrets:
            if name not in names:
                names.append(name)
    return names


def resolve_secrets(
    env: Environment, *, source: SecretSource = "auto", services: Iterable[str] | None = None
) -> dict[str, Secret]:
    """The value of every secret the environment needs; all missing ones reported at once."""
    values: dict[str, Secret] = {}
    missing: list[str] = []
    for name in secret_names(env, services):
        value = os.environ.get(name)
        if value is None:
            missing.append(name)
        else:
            values[name] = Secret(value)
    if missing:
        raise SecretsMissingError(
            missing,
            environment=env.name,
            hint="set each as an environment variable of the same name",
        )
    return values
