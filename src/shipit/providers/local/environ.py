"""The environment a release's process starts with, and reading it back from the process.

The process gets this machine's environment minus shipit's own variables (``SHIPIT_*``) and the
provider tokens, then the service's ``env``, then the values given to ``set_env`` (secret values
are revealed here, into the process environment only), ``DATABASE_URL`` from the linked
database, and ``PORT``, ``HOST``, ``SHIPIT_RELEASE``, ``SHIPIT_ENVIRONMENT``, ``SHIPIT_SERVICE``.
Only the NAMES shipit set are recorded, so reading the environment back can leave out what was
inherited from the machine and re-wrap the secret ones.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from shipit.sensitive import Secret, reveal

PROVIDER_TOKEN_VARIABLES = frozenset(
    {"RAILWAY_API_TOKEN", "RAILWAY_TOKEN", "RENDER_API_KEY", "FLY_API_TOKEN"}
)


def machine_environment() -> dict[str, str]:
    """This process's environment without shipit's variables and provider tokens."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SHIPIT_") and name not in PROVIDER_TOKEN_VARIABLES
    }


@dataclass(frozen=True)
class ChildEnvironment:
    """The full environment of a release, the names shipit set and which of them are secret."""

    values: Mapping[str, str]
    names: tuple[str, ...]
    secret_names: tuple[str, ...]


def compose(
    *,
    service_env: Mapping[str, str],
    values: Mapping[str, str | Secret],
    unset: Collection[str],
    secret_names: Collection[str],
    database_url: str | None,
    runtime: Mapping[str, str],
) -> ChildEnvironment:
    """Layer the service's variables over the machine's; ``runtime`` (PORT, HOST...) wins."""
    layered: dict[str, str | Secret] = dict(service_env)
    layered.update(values)
    for name in unset:
        layered.pop(name, None)
    if database_url is not None and "DATABASE_URL" not in layered:
        layered["DATABASE_URL"] = database_url
    layered.update(runtime)
    environment = machine_environment()
    for name in unset:
        environment.pop(name, None)
    environment.update({name: reveal(value) for name, value in layered.items()})
    secret = {name for name, value in layered.items() if isinstance(value, Secret)}
    secret.update(name for name in secret_names if name in layered)
    return ChildEnvironment(
        values=environment,
        names=tuple(sorted(layered)),
        secret_names=tuple(sorted(secret)),
    )


def read_back(
    environ: Mapping[str, str], names: Collection[str], secret_names: Collection[str]
) -> dict[str, str | Secret]:
    """The variables shipit set, from a process's environment, secret ones wrapped again."""
    return {
        name: Secret(value) if name in secret_names else value
        for name, value in sorted(environ.items())
        if name in names
    }
