"""Provider adapters by name: built-ins as lazy dotted paths, others from entry points.

Third-party adapters register under the ``shipit.providers`` entry-point group, for example::

    [project.entry-points."shipit.providers"]
    heroku = "shipit_heroku:HerokuProvider"

An adapter class is constructed as ``cls(context)`` with a :class:`ProviderContext`.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from shipit.errors import ConfigError

if TYPE_CHECKING:
    from shipit.providers.base import Provider, ProviderContext

ENTRY_POINT_GROUP = "shipit.providers"

BUILTIN: dict[str, str] = {
    "local": "shipit.providers.local:LocalProvider",
    "railway": "shipit.providers.railway:RailwayProvider",
    "render": "shipit.providers.render:RenderProvider",
    "fly": "shipit.providers.fly:FlyProvider",
}


@cache
def _plugins() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> list[str]:
    """Names of every provider that can be used."""
    return sorted({*BUILTIN, *_plugins()})


def provider_class(name: str) -> type[Provider]:
    """The adapter class registered as ``name``, imported on first use."""
    target = BUILTIN.get(name) or _plugins().get(name)
    if target is None:
        raise ConfigError(
            f"unknown provider {name!r} (available: {', '.join(available())})",
            hint=f"install a package that provides the {name!r} adapter "
            f"(entry-point group {ENTRY_POINT_GROUP!r})",
        )
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"provider {name!r} cannot be loaded: {exc}",
            hint=f"reinstall the package that provides {module_name!r}",
        ) from None
    cls: type[Provider] = getattr(module, attribute)
    return cls


def create_provider(context: ProviderContext) -> Provider:
    """An adapter instance for the context's environment."""
    cls = provider_class(context.environment.provider)
    return cls(context)  # type: ignore[call-arg]
