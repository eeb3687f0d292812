"""Where secret values come from: the OS keyring, or the process environment in CI.

Sources (``--secrets``):

- ``keyring``: secret NAME of environment ENV is the keyring entry ``shipit:<project>:<ENV>`` /
  NAME, else the project-wide ``shipit:<project>`` / NAME (see :mod:`shipit.secretstore`).
- ``env``: secret NAME is the environment variable NAME (what CI uses).
- ``auto`` (default): ``env`` when ``CI`` is true, else ``keyring``.

A secret name that an environment gives a plain value in shipit.toml is plain there (the overlay
moves it out of ``secrets``), so an environment without secret names never touches the keyring.
Every value is wrapped in :class:`~shipit.sensitive.Secret` the moment it is read. Missing values
are all reported at once, before any provider call, each with the command that sets it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast

from shipit.config.overlay import Environment
from shipit.errors import SecretsMissingError, UsageError
from shipit.secretstore import KeyringUnavailableError, SecretStore
from shipit.sensitive import Secret

SecretSource = Literal["auto", "keyring", "env"]
Mode = Literal["keyring", "env"]
SOURCES: tuple[str, ...] = ("auto", "keyring", "env")


def checked_source(source: str) -> SecretSource:
    """``source`` (a ``--secrets`` value) if it is one of SOURCES; a UsageError otherwise."""
    if source not in SOURCES:
        raise UsageError(f"--secrets must be auto, keyring or env, not {source!r}")
    return cast("SecretSource", source)


def effective_source(source: str = "auto") -> Mode:
    """``keyring`` or ``env``: what ``source`` means here (``auto`` follows ``CI``)."""
    if checked_source(source) == "auto":
        from shipit.ci import in_ci

        return "env" if in_ci() else "keyring"
    return "env" if source == "env" else "keyring"


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


@dataclass(frozen=True)
class SecretValue:
    """One secret of an environment: its value (None when unset) and where it came from.

    ``source`` is ``keyring`` or ``env-var``; ``scope`` is ``env`` or ``project`` for the
    keyring (None for env vars); ``where`` names the keyring service or the variable.
    """

    name: str
    value: Secret | None
    source: str
    scope: str | None
    where: str


def lookup_secrets(
    env: Environment,
    *,
    source: str = "auto",
    services: Iterable[str] | None = None,
    store: SecretStore | None = None,
) -> dict[str, SecretValue]:
    """Every secret the environment needs, with None values for the unset ones (no error)."""
    names = secret_names(env, services)
    if not names:
        return {}
    mode = effective_source(source)
    found: dict[str, SecretValue] = {}
    if mode == "env":
        for name in names:
            raw = os.environ.get(name)
            value = Secret(raw) if raw is not None else None
            found[name] = SecretValue(name, value, "env-var", None, f"${name}")
        return found
    store = store or SecretStore(env.project)
    try:
        store.backend  # noqa: B018 - fail once, with the fix, before reading anything
    except KeyringUnavailableError as error:
        listed = " ".join(f"{n}=..." for n in names)
        raise KeyringUnavailableError(
            f"{error.message}; environment {env.name!r} needs secrets from it",
            hint=f"{error.hint}; for example `CI=true {listed} shipit ...`",
            reason=error.reason,
        ) from None
    for name in names:
        hit = store.lookup(name, env.name)
        if hit is None:
            found[name] = SecretValue(name, None, "keyring", None, store.service(env.name))
        else:
            found[name] = SecretValue(name, hit.value, "keyring", hit.scope, hit.service)
    return found


def missing_hint(names: Iterable[str], env: Environment, mode: Mode) -> str:
    """How to give a value to each of ``names``."""
    names = list(names)
    if mode == "env":
        listed = ", ".join(names)
        what = "environment variables" if len(names) > 1 else "an environment variable"
        return (
            f"export {listed} as {what} of the same name in the CI job "
            "(or run without CI=true to read the keyring)"
        )
    config = ""
    default = env.root / "shipit.toml"
    if env.config_path != default.resolve():
        config = f"-c {env.config_path.name} "
    commands = "; ".join(f"`shipit {config}env set {n} -e {env.name}`" for n in names)
    return (
        f"set each in the keyring: {commands} (leave out -e for a project-wide value); "
        "in CI set CI=true and export each as an environment variable"
    )


def resolve_secrets(
    env: Environment, *, source: SecretSource = "auto", services: Iterable[str] | None = None
) -> dict[str, Secret]:
    """The value of every secret the environment needs; all missing ones reported at once."""
    found = lookup_secrets(env, source=source, services=services)
    missing = [name for name, item in found.items() if item.value is None]
    if missing:
        raise SecretsMissingError(
            missing,
            environment=env.name,
            hint=missing_hint(missing, env, effective_source(source)),
        )
    return {name: item.value for name, item in found.items() if item.value is not None}
